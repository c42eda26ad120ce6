/**
 * The README's mailer channel examples on the images (the rest of the README's
 * examples: readme-examples.test.ts). They name real services, so each is run
 * with `api=<base>` added to its notify URLs, pointing them at ch2/smtp-sink's
 * receiver (alias sink), the fake of every service they name.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import { follow } from './book-links.ts';
import {
  Cleanup,
  dockerOk,
  http,
  IMAGES,
  type LogBuffer,
  MAILER_STARTED,
  startNetwork,
  startSmtpSink,
  type StartedNetwork,
  TEST_LABEL,
  uniqueName,
  waitUntil,
} from './helpers.ts';
import { ROOT, shown } from '../support/readme.ts';

/** The example with `api=<base>` added to the one `notify: <scheme>://…` URL of each scheme given. */
function withApi(text: string, apis: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [scheme, api] of Object.entries(apis)) {
    const re = new RegExp(`^(\\s*-?\\s*notify:\\s*)(${scheme}://\\S+)$`, 'gm');
    assert.equal([...out.matchAll(re)].length, 1, `one ${scheme}:// notify URL in the example`);
    out = out.replace(re, (_, lead: string, url: string) => `${lead}${url}${url.includes('?') ? '&' : '?'}api=${api}`);
  }
  return out;
}

describe('the README\'s mailer channel examples on the images', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  // The mailer examples: one network with ch2/smtp-sink (alias sink), the fake of every service they name.
  let sinkNet: Promise<{ net: StartedNetwork; api: string }> | undefined;
  const sink = (): Promise<{ net: StartedNetwork; api: string }> =>
    (sinkNet ??= (async () => {
      const net = await startNetwork(cleanup);
      return { net, api: (await startSmtpSink(net, cleanup, 'sink')).api };
    })());
  const hooks = async (api: string, keep: (h: StoredHook) => boolean): Promise<StoredHook[]> => {
    const r = await http('GET', `${api}/hooks`);
    assert.equal(r.status, 200);
    return (r.json as StoredHook[]).filter(keep);
  };
  /** A mailer on the sink's network with `mounts` (host path → container path, read-only), its port on 127.0.0.1. */
  const mailerOnSink = async (net: StartedNetwork, mounts: Record<string, string>, args: string[]): Promise<{ url: string; logs: LogBuffer }> => {
    const name = uniqueName('mailer');
    cleanup.names(name);
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', name, '--network', net.getName(), '-p', '127.0.0.1::33333',
      ...Object.entries(mounts).flatMap(([from, to]) => ['-v', `${from}:${to}:ro`]),
      IMAGES.mailer, ...args,
    ]);
    const logs = follow(cleanup, name, 'mailer');
    await logs.waitFor(MAILER_STARTED, 20_000);
    const port = (await dockerOk(['port', name, '33333/tcp'])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
    assert.ok(port, 'the mailer\'s port is mapped on 127.0.0.1');
    return { url: `http://${port.trim()}`, logs };
  };
  const postAlert = async (url: string, body: Record<string, unknown>): Promise<string> => {
    const r = await http('POST', `${url}/alerts`, body);
    assert.equal(r.status, 202, r.text);
    return (r.json as { id: string }).id;
  };
  const settled = (url: string): Promise<true> =>
    waitUntil('no deliveries active in the mailer', async () => {
      const h = await http('GET', `${url}/healthz`);
      return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
    }, 15_000, 200);
  const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('the routing config (docs/examples/mailer-channels.yaml): db-* goes to PagerDuty, everything to Slack', { timeout: 60_000 }, async () => {
    const path = 'docs/examples/mailer-channels.yaml';
    const text = withApi(shown(path), { pagerduty: 'http://sink:8025/hooks/pd', slack: 'http://sink:8025/hooks/slack' });
    const routingKey = /pagerduty:\/\/([A-Za-z0-9]+)/.exec(text)?.[1];
    const slackHook = /slack:\/\/hook:([A-Za-z0-9]+)-([A-Za-z0-9]+)-([A-Za-z0-9]+)@webhook/.exec(text)?.slice(1).join('/');
    assert.ok(routingKey && slackHook);
    const { net, api } = await sink();
    const dir = await mkdtemp(join(tmpdir(), 'ch2-readme-'));
    cleanup.defer('remove the mapped config', () => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'mailer.yaml');
    await writeFile(file, text);
    await chmod(file, 0o644); // the image's user reads it
    const mailer = await mailerOnSink(net, { [file]: '/etc/ch2/mailer.yaml' }, ['--config', '/etc/ch2/mailer.yaml']);
    assert.deepEqual(((await http('GET', `${mailer.url}/healthz`)).json as { channels: string[] }).channels, ['log', 'pagerduty', 'slack']);

    const from = mailer.logs.mark();
    const alert = { message: 'The service is down!', to: 'admin@work', status: 'down' };
    const db = await postAlert(mailer.url, { ...alert, target: 'db-1' });
    const web = await postAlert(mailer.url, { ...alert, target: 'web-1' });
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(db)} via pagerduty\\.`), 20_000, from);
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(db)} via slack\\.`), 20_000, from);
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(web)} via slack\\.`), 20_000, from);
    await settled(mailer.url);

    // PagerDuty: one trigger, for db-1; nothing about web-1.
    const pd = await hooks(api, (h) => h.name === 'pd/v2/enqueue');
    assert.equal(pd.length, 1, `PagerDuty got ${pd.length} events: ${pd.map((h) => h.body).join('\n')}`);
    const event = JSON.parse(pd[0]!.body) as { routing_key: string; event_action: string; dedup_key: unknown; payload: { summary: string; custom_details: Record<string, unknown> } };
    assert.equal(event.routing_key, routingKey);
    assert.equal(event.event_action, 'trigger');
    assert.ok(typeof event.dedup_key === 'string' && event.dedup_key.length > 0, 'a dedup_key');
    assert.match(event.payload.summary, /\bdb-1\b/);
    assert.equal(event.payload.custom_details.target, 'db-1');
    assert.equal(event.payload.custom_details.alert_id, db);
    assert.ok(!pd[0]!.body.includes('web-1') && !pd[0]!.body.includes(web), 'PagerDuty heard nothing of web-1');

    // Slack: both targets, maybe in one grouped message.
    const slack = await hooks(api, (h) => h.name === `slack/services/${slackHook}`);
    assert.ok(slack.length >= 1 && slack.length <= 2, `Slack got ${slack.length} messages`);
    const titles = slack.map((h) => ((JSON.parse(h.body) as { text: string }).text.split('\n')[0] ?? ''));
    assert.deepEqual(titles.flatMap((t) => [...t.matchAll(/\b(?:db|web)-1\b/g)].map((m) => m[0])).sort(), ['db-1', 'web-1'], titles.join('\n'));
  });

  test('the webhook template (docs/examples/webhook-template.yaml): hostile alert text arrives as valid JSON with the same text', { timeout: 60_000 }, async () => {
    const path = 'docs/examples/webhook-template.yaml';
    const template = shown(path);
    assert.match(template, /"text": "\{\{Status\}\} \{\{target\}\}: \{\{message\}\}"/, 'the fields this test expects');
    const { net, api } = await sink();
    const mailer = await mailerOnSink(net, { [join(ROOT, path)]: '/etc/ch2/template.yaml' }, ['--webhook', 'http://sink:8025/hooks/tpl', '--webhook-template', '/etc/ch2/template.yaml']);

    // Quotes, backslashes, line breaks, braces, mustache tags, JSON injections, unicode (no lone surrogates: UTF-8 has none).
    const hostile = 'q " bs \\ \\" \\\\n \\u0022 nl\ncrlf\r\ntab\t {} {{id}} {{{message}}} {{& reason}} {{#reminder}}x{{/reminder}} "}, "x": "injected", "y": {"' +
      ' \u2028\u2029 é 中文 🙂 </script> ${x}';
    const time = new Date().toISOString();
    const full = { message: `The service is down! ${hostile}`, to: 'admin@work', status: 'down', target: `http://db-1:80/?q=${hostile}`, reason: `ECONNREFUSED ${hostile}`, incident: `inc ${hostile}`, time, downForMs: 61_000, reminder: 2 };
    const bare = { message: `Back: ${hostile}`, to: 'admin@work', status: 'up' };
    const since = Date.now();
    const ids = [await postAlert(mailer.url, full), await postAlert(mailer.url, bare)];
    for (const id of ids) await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(id)} via webhook\\.`), 20_000);
    await settled(mailer.url);

    const requests = await hooks(api, (h) => h.name === 'tpl');
    const expected: Record<string, unknown>[] = [
      { text: `DOWN ${full.target}: ${full.message}`, status: 'down', reason: full.reason, down_ms: 61_000, incident: full.incident, time, reminder: 2 },
      // No target, reason, outage length, incident, time or reminder: what the template makes of their absence.
      { text: `UP : ${bare.message}`, status: 'up', reason: '', down_ms: null, incident: ids[1], time: '<receivedAt>' },
    ];
    for (const [i, id] of ids.entries()) {
      const mine = requests.filter((h) => h.headers['idempotency-key'] === id);
      assert.equal(mine.length, 1, `one request for alert ${i + 1}`);
      const h = mine[0]!;
      assert.equal(h.method, 'POST');
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.headers['x-alert-id'], id);
      assert.equal(h.headers['x-source'], 'ch2');
      let body: Record<string, unknown>;
      assert.doesNotThrow(() => (body = JSON.parse(h.body) as Record<string, unknown>), `alert ${i + 1}: the body is not JSON:\n${h.body}`);
      body = JSON.parse(h.body) as Record<string, unknown>;
      if (expected[i]!.time === '<receivedAt>') {
        // The mailer's own time of taking it, when the sender gave none.
        const at = Date.parse(body.time as string);
        assert.ok(at >= since - 1000 && at <= Date.now() + 1000, `time ${String(body.time)}`);
        expected[i]!.time = body.time;
      }
      assert.deepEqual(body, expected[i], `alert ${i + 1}: the fields carry the alert's text as it was sent`);
    }
  });
});
