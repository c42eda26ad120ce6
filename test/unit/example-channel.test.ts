/**
 * The example channel module examples/channels/pager.mjs, loaded as the
 * mailer loads it (loadChannelModules, settings from env vars and flags),
 * against a loopback receiver: the exact request, the classification of
 * answers (5xx and 429 retried with Retry-After, 4xx dead-lettered), its
 * token kept out of error text and listed as a secret, and its create
 * refusing a missing or bad url at start.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { loadChannelModules, moduleChannelsReady } from '../../mailer/delivery/channel-modules.ts';
import type { Channel } from '../../mailer/delivery/channels/channel.ts';
import { Receiver, status } from '../support/http-receiver.ts';
import { sampleAlert } from '../support/sample-alert.ts';

const PAGER = resolve(import.meta.dirname, '../../examples/channels/pager.mjs');
const TOKEN = 'pg-token-8c1d55';
const SEND = { signal: new AbortController().signal };
const sink = { write: () => true } as unknown as NodeJS.WritableStream;
const log = await createLogger({ name: 't', format: 'plain', level: 'error', out: sink, err: sink });

const rx = new Receiver();
before(() => rx.listen());
after(() => rx.close());
beforeEach(() => rx.reset());

async function pager(settingArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<{ channel: Channel; secrets: string[] }> {
  const [loaded] = await loadChannelModules([PAGER], settingArgs, env, 2000);
  const { kind, settings } = loaded!;
  assert.equal(kind.kind, 'pager');
  const channel = kind.create(settings, { name: 'pager', log, from: '', httpTimeoutMs: 1000 });
  await moduleChannelsReady([channel]);
  return { channel, secrets: kind.secrets!(settings) };
}

test('pager POSTs the alert as its event JSON with the bearer token and the alert id as Idempotency-Key', async () => {
  const { channel, secrets } = await pager([`pager.url=${rx.base}/v1/events/${TOKEN}`], { CH2_PAGER_TOKEN: TOKEN, CH2_PAGER_SEVERITY: 'warning' });
  assert.deepEqual(secrets, [TOKEN]);
  assert.deepEqual(await channel.send(sampleAlert('pg-1', { incident: 'inc-9' }), SEND), { ok: true });
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, `/v1/events/${TOKEN}`);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.equal(hit.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(hit.headers['idempotency-key'], 'pg-1');
  assert.deepEqual(JSON.parse(hit.body), {
    event: 'trigger',
    key: 'inc-9',
    severity: 'warning',
    summary: '[DOWN] http://insideweb:80/ — The service is down!',
    alert: { id: 'pg-1', status: 'down', to: 'admin@work', message: 'The service is down!', target: 'http://insideweb:80/', reason: 'connection refused', time: '2024-05-01T10:00:00.000Z', incident: 'inc-9', receivedAt: '2024-05-01T10:00:01.000Z' },
  });
  await channel.close?.();
});

test('an up alert resolves, keyed by the target when there is no incident', async () => {
  const { channel } = await pager([`pager.url=${rx.base}/e`]);
  assert.equal((await channel.send(sampleAlert('pg-2', { status: 'up', message: 'The service is back up.' }), SEND)).ok, true);
  const body = JSON.parse(rx.hits[0]!.body) as Record<string, unknown>;
  assert.deepEqual([body.event, body.key, body.severity], ['resolve', 'http://insideweb:80/', 'critical']);
  assert.equal(rx.hits[0]!.headers.authorization, undefined, 'no token, no Authorization');
});

test('answers: 503 and 429 retried (Retry-After honoured), 400 and 401 dead-lettered; the URL path with its token never in the error', async () => {
  const { channel } = await pager([`pager.url=${rx.base}/v1/events/${TOKEN}`, `pager.token=${TOKEN}`]);
  rx.answers = [status(503, 'down'), status(429, 'slow', { 'retry-after': '7' }), status(400, 'bad'), status(401, 'who')];
  const results = [];
  for (let i = 0; i < 4; i += 1) results.push(await channel.send(sampleAlert(`pg-3-${i}`), SEND));
  assert.deepEqual(results, [
    { ok: false, retry: true, error: `${rx.base} answered HTTP 503` },
    { ok: false, retry: true, error: `${rx.base} answered HTTP 429`, retryAfterMs: 7000 },
    { ok: false, retry: false, error: `${rx.base} answered HTTP 400` },
    { ok: false, retry: false, error: `${rx.base} answered HTTP 401` },
  ]);
  await rx.close();
  const refused = await channel.send(sampleAlert('pg-4'), SEND);
  await rx.listen();
  assert.equal(refused.ok === false && refused.retry, true);
  assert.ok(refused.ok === false && refused.error.startsWith('http://127.0.0.1:') && !refused.error.includes(TOKEN), JSON.stringify(refused));
});

test('create refuses a missing or bad url at start, one line, without the value', async () => {
  const cases: [string[], RegExp][] = [
    [[], /its create failed: url: required/],
    [['pager.url=not a url hidden-part'], /its create failed: url: not a URL \(the value is not shown\)/],
    [['pager.url=ftp://x/'], /its create failed: url: expected an http/],
    [[`pager.url=${rx.base}/`, 'pager.severity=panic'], /its create failed: severity: expected critical/],
  ];
  for (const [args, re] of cases) {
    await assert.rejects(pager(args), (err: Error) => err instanceof ConfigError && re.test(err.message) && err.message.includes(PAGER) && !err.message.includes('hidden-part'));
  }
});
