/**
 * Webhooks: our mailer with --webhook and --slack-webhook pointing at the
 * ch2/smtp-sink fixture's webhook receiver (alias "sink", port 8025) on a
 * docker network. An alert POSTed from the host through the mapped port; the
 * requests read back from the sink's GET /hooks, its answers scripted with
 * POST /hooks/script and /hooks/mode.
 *
 * (a) 503, 503, 503, then 200: the alert is delivered, with one 200-answered
 *     request and the same Idempotency-Key on every attempt.
 * (b) 400: the alert is dead-lettered with the reason in the log and listed by
 *     GET /alerts?state=dead.
 * The Slack URL's token and the bearer token never reach the mailer's log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import {
  Cleanup,
  http,
  httpOnLoopback,
  startSmtpSink,
  startMailer,
  startNetwork,
  waitUntil,
  type Started,
  type StartedNetwork,
} from './helpers.ts';

const TARGET = 'http://insideweb:80/';
const TOKEN = 'whtoken-5f0c2a';
const SLACK_SECRET = 'xoxsecret9d41';

describe('webhook delivery through the ch2/smtp-sink receiver', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let sink: Started & { api: string };
  let mailer: Started;
  let sinkApi: string;
  let mailerUrl: string;

  const hooks = async (name: string, id: string): Promise<StoredHook[]> => {
    const r = await http('GET', `${sinkApi}/hooks`);
    assert.equal(r.status, 200);
    return (r.json as StoredHook[]).filter((h) => h.name === name && h.headers['idempotency-key'] === id);
  };
  const control = async (path: string, body: unknown): Promise<void> => {
    const r = await http('POST', `${sinkApi}${path}`, body);
    assert.equal(r.status, 200, `POST ${path}: ${r.text}`);
  };
  const postAlert = async (body: Record<string, unknown>): Promise<string> => {
    const post = await http('POST', `${mailerUrl}/alerts`, body);
    assert.equal(post.status, 202, post.text);
    const id = (post.json as { id: string }).id;
    assert.ok(id, 'the 202 answer carries the alert id');
    return id;
  };
  const settled = (): Promise<true> =>
    // No send or retry under way (the mailer's /healthz counts them): nothing more can arrive.
    waitUntil('no deliveries active in the mailer', async () => {
      const h = await http('GET', `${mailerUrl}/healthz`);
      return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
    }, 15_000, 200);

  before(async () => {
    net = await startNetwork(cleanup);
    sink = await startSmtpSink(net, cleanup, 'sink');
    sinkApi = sink.api;
    mailer = await startMailer(net, cleanup, {
      aliases: ['insidemailer'],
      args: ['--webhook', 'http://sink:8025/hooks/a', '--slack-webhook', `http://sink:8025/hooks/slack/T0/B0/${SLACK_SECRET}`, '--webhook-timeout', '5s'],
      env: { WEBHOOK_TOKEN: TOKEN },
    });
    mailerUrl = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
  }, { timeout: 60_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('503 three times, then 200: delivered once, the same Idempotency-Key on every attempt', { timeout: 45_000 }, async () => {
    await control('/hooks/script', { hook: 'a', statuses: [503, 503, 503] });
    await control('/hooks/script', { hook: `slack/T0/B0/${SLACK_SECRET}`, statuses: [503] });
    const from = mailer.logs.mark();
    const time = new Date().toISOString();
    const id = await postAlert({ message: 'The service is down!', status: 'down', target: TARGET, reason: 'connection refused', time });

    await mailer.logs.waitFor(new RegExp(`Delivered alert ${id} via webhook\\.`), 30_000, from);
    await settled();
    for (const attempt of [1, 2, 3]) {
      assert.match(mailer.logs.text.slice(from), new RegExp(`Alert ${id} via webhook failed: http://sink:8025 answered HTTP 503[^\\n]*; retry ${attempt} in [\\d.]+s\\.`));
    }
    const requests = await hooks('a', id);
    assert.deepEqual(requests.map((h) => h.status), [503, 503, 503, 200]);
    assert.equal(requests.filter((h) => h.status === 200).length, 1, 'exactly one request answered 200');
    for (const h of requests) {
      assert.equal(h.method, 'POST');
      assert.equal(h.headers['idempotency-key'], id);
      assert.equal(h.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.body, requests[0]!.body, 'every attempt carries the same body');
    }
    const body = requests[3]!.json as Record<string, unknown>;
    assert.deepEqual({ ...body, receivedAt: typeof body.receivedAt }, {
      id,
      status: 'down',
      to: 'admin@work',
      message: 'The service is down!',
      target: TARGET,
      reason: 'connection refused',
      time,
      receivedAt: 'string',
    });
    assert.ok(!Number.isNaN(Date.parse(body.receivedAt as string)));

    // The Slack webhook is another channel, with its own retries, named in the log by scheme and host.
    assert.match(mailer.logs.text.slice(from), new RegExp(`Alert ${id} via slack failed: http://sink:8025 answered HTTP 503: unavailable \\(smtp-sink scripted 503\\); retry 1 in`));
    const slack = await hooks(`slack/T0/B0/${SLACK_SECRET}`, id);
    assert.deepEqual(slack.map((h) => h.status), [503, 200]);
    assert.equal(slack[1]!.headers.authorization, undefined, 'the bearer token goes to generic webhooks only');
    assert.match((slack[1]!.json as { text: string }).text, /\[DOWN\] http:\/\/insideweb:80\/ — The service is down!/);
    assert.equal(mailer.logs.count(new RegExp(`Delivered alert ${id} via slack\\.`), from), 1);
  });

  test('400: a dead letter, the reason in the log and in GET /alerts?state=dead', { timeout: 45_000 }, async () => {
    await control('/hooks/mode', { hook: 'a', status: 400 });
    try {
      const from = mailer.logs.mark();
      const id = await postAlert({ message: 'The service is down!', target: TARGET, reason: 'HTTP 503' });
      const { match } = await mailer.logs.waitFor(
        new RegExp(`Alert ${id} not delivered via webhook \\(dead letter\\): http://sink:8025 answered HTTP 400: invalid_payload \\(smtp-sink scripted 400\\)`),
        15_000,
        from,
      );
      console.log(`  mailer: ${match[0]}`);
      assert.doesNotMatch(mailer.logs.text.slice(from), new RegExp(`Alert ${id} via webhook failed`), 'a 400 is not retried');
      await settled();
      assert.deepEqual((await hooks('a', id)).map((h) => h.status), [400], 'one request, not retried');

      const dead = await waitUntil('the alert in GET /alerts?state=dead', async () => {
        const r = await httpOnLoopback(mailer.container, '/alerts?state=dead');
        assert.equal(r.status, 200, r.text);
        const list = r.json as { alerts: { id: string; channels: Record<string, { state: string; error?: string }> }[] };
        return list.alerts.find((a) => a.id === id);
      }, 10_000, 200);
      assert.equal(dead.channels.webhook?.state, 'dead');
      assert.match(dead.channels.webhook?.error ?? '', /HTTP 400: invalid_payload/);
      await mailer.logs.waitFor(new RegExp(`Delivered alert ${id} via slack\\.`), 10_000, from);
    } finally {
      await control('/hooks/mode', { hook: 'a', status: 200 }).catch(() => {});
    }
  });

  test('no secret in the mailer\'s log: not the Slack URL\'s token, not the bearer token', async () => {
    assert.match(mailer.logs.text, /via slack failed: http:\/\/sink:8025 answered HTTP 503/, 'the log speaks of the failing Slack webhook');
    assert.ok(!mailer.logs.text.includes(SLACK_SECRET), `the Slack token is in the mailer log:\n${mailer.logs.tail()}`);
    assert.ok(!mailer.logs.text.includes(TOKEN), 'the bearer token is in the mailer log');
  });
});
