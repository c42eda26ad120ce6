/**
 * Secure defaults on the images (issue 16 item 6): without --token a silence
 * posted from another container on the network (the agent's, by its link
 * alias) is a 403 that names --token, and the same silence from the mailer
 * container's own loopback (docker exec, with the image's node) is a 201;
 * with --token and --public-status, after a real down alert (docker stop of
 * the agent's nginx) to a real recipient through SMTP and a webhook that
 * cannot be reached, no recipient, alert id or error text is anywhere in
 * the page, /api/v1/incidents, /api/v1/status or the event stream read
 * without the token, while the token's holder sees them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StartedTestContainer } from 'testcontainers';
import {
  Cleanup,
  dockerOk,
  type Started,
  startAgent,
  startMailer,
  startNetwork,
  startNginx,
  startSmtpSink,
  waitUntil,
} from './helpers.ts';

const TOKEN = 'secure-defaults-token-0123456789';
const RECIPIENT = 'oncall@secure.test';
const SILENCE = JSON.stringify({ target: '*', for: '1h', comment: 'secure-defaults' });

/** POST a silence with the image's node, from inside `container`, to `url`; the answer's status and body. */
async function postFrom(container: StartedTestContainer, url: string, token?: string): Promise<{ status: number; text: string }> {
  const headers = JSON.stringify({ 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) });
  const script = `fetch(process.argv[1], { method: 'POST', headers: ${headers}, body: process.argv[2] }).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })))`;
  const r = await dockerOk(['exec', container.getId(), 'node', '-e', script, url, SILENCE]);
  return JSON.parse(r.stdout) as { status: number; text: string };
}

/** The first `incidents` fragment of the event stream, from the host. */
async function firstFragment(base: string, token?: string): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    const res = await fetch(`${base}/api/v1/events`, { signal: ac.signal, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const m = /event: incidents\ndata: (.*)\n/.exec(text);
      if (m) return m[1]!;
    }
    throw new Error(`the stream ended without an incidents fragment: ${text}`);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

describe('secure defaults on the images', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('without --token: a silence from another container is a 403 naming --token; from the mailer\'s loopback a 201', { timeout: 90_000 }, async () => {
    const net = await startNetwork(cleanup);
    await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup);
    const agent = await startAgent(net, cleanup);
    const far = await postFrom(agent.container, 'http://insidemailer:33333/api/v1/silences');
    assert.equal(far.status, 403, far.text);
    assert.match((JSON.parse(far.text) as { error: string }).error, /loopback only.*--token/);
    const base = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    // From the host through the published port the peer is Docker's gateway, not loopback: 403 too.
    const host = await fetch(`${base}/api/v1/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: SILENCE });
    assert.equal(host.status, 403);
    assert.deepEqual(await (await fetch(`${base}/api/v1/silences`)).json(), [], 'no silence was added');
    const near = await postFrom(mailer.container, 'http://127.0.0.1:33333/api/v1/silences');
    assert.equal(near.status, 201, near.text);
    assert.equal((JSON.parse(near.text) as { target: string }).target, '*');
    // The agent's own alerts and reports still land (POST from a linked container, Host: insidemailer:33333).
    await mailer.logs.waitFor(/agent \S+ reports \(/, 15_000);
  });

  describe('--token --public-status after a real down alert', () => {
    let base = '';
    let web: Started;
    let sinkApi = '';
    before(async () => {
      const net = await startNetwork(cleanup);
      web = await startNginx(net, cleanup);
      const sink = await startSmtpSink(net, cleanup);
      sinkApi = sink.api;
      const mailer = await startMailer(net, cleanup, {
        args: ['--public-status', '--to', RECIPIENT, '--smtp', 'smtp://smtp:2525?tls=off', '--webhook', 'http://nowhere-at-all:9/hook', '--group-wait', '0'],
        env: { MAILER_TOKEN: TOKEN },
      });
      base = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
      await startAgent(net, cleanup, { args: ['--to', RECIPIENT, '--report-every', '1s'], env: { MAILER_TOKEN: TOKEN } });
    }, { timeout: 90_000 });

    test('no recipient, alert id or error text in the page, the API or the event stream without the token', { timeout: 60_000 }, async () => {
      await dockerOk(['stop', web.container.getId()], { timeoutMs: 20_000 });
      // The real recipient got the real down e-mail.
      await waitUntil('the down e-mail at the sink', async () => {
        const list = (await (await fetch(`${sinkApi}/messages`)).json()) as Array<{ raw: string }>;
        return list.find((m) => m.raw.includes(RECIPIENT) && /is down|down/i.test(m.raw));
      }, 20_000, 250);
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
      // The token's holder sees the recipient, the alert id and the webhook's error.
      const full = await waitUntil('the incident with its webhook error, for the token holder', async () => {
        const text = await (await fetch(`${base}/api/v1/incidents?state=open`, auth)).text();
        return text.includes(RECIPIENT) && /"error"/.test(text) && /"alertId"/.test(text) ? text : undefined;
      }, 20_000, 250);
      const alertId = /"alertId":"([^"]+)"/.exec(full)![1]!;
      const errorText = /"error":"([^"]{8,40})/.exec(full)![1]!;
      const reads: Record<string, string> = {
        'GET /': await (await fetch(`${base}/`)).text(),
        'GET /api/v1/incidents': await (await fetch(`${base}/api/v1/incidents?state=open`)).text(),
        'GET /api/v1/status': await (await fetch(`${base}/api/v1/status`)).text(),
        'the event stream': await firstFragment(base),
      };
      assert.match(reads['GET /api/v1/incidents']!, /insideweb/, 'the incident itself is public');
      for (const [where, text] of Object.entries(reads)) {
        assert.ok(!text.includes(RECIPIENT) && !text.includes('secure.test'), `${where} shows the recipient`);
        assert.ok(!text.includes(alertId), `${where} shows the alert id ${alertId}`);
        assert.ok(!text.includes(errorText), `${where} shows the error text ${errorText}`);
        assert.doesNotMatch(text, /"error"|last error/, `${where} shows an error`);
      }
      assert.ok((await firstFragment(base, TOKEN)).includes(RECIPIENT), 'the token holder\'s stream shows the recipient');
      assert.ok((await (await fetch(`${base}/`, auth)).text()).includes(RECIPIENT), 'the token holder\'s page shows the recipient');
    });
  });
});
