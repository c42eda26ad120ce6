/**
 * The PagerDuty channel against a loopback receiver: the exact Events API v2
 * events (a trigger for a down, nothing for a reminder, a resolve with only
 * routing_key, event_action and dedup_key for the up, all on the incident's
 * dedup_key), the pagerduty:// URL form and the config entry, hostile alert
 * text flattened, and PagerDuty's answers: 202 sent, 400 permanent, 429
 * transient after Retry-After or 30 s, 5xx transient, no routing key in any error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PAGERDUTY_BACKOFF_MS, pagerdutyChannel, type PagerDutySettings } from '../../../mailer/delivery/channels/pagerduty.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { fakeReceiver, SEND, testContext } from '../../support/channel-fake.ts';

const ctx = testContext('pagerduty');
const KEY = 'abcdef0123456789abcdef0123456789';
const rx = fakeReceiver(status(202, '{"status":"success","message":"Event processed","dedup_key":"x"}', { 'content-type': 'application/json' }));

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('pd-1', { incident: 'inc-7', ...overrides });
const fromUrl = (url: string) => pagerdutyChannel.fromUrl!(new URL(url)) as PagerDutySettings;
const local = (extra = '') => fromUrl(`pagerduty://${KEY}?api=${encodeURIComponent(rx.base)}${extra}`);

async function sendWith(settings: PagerDutySettings, ...alerts: QueuedAlert[]) {
  const channel = pagerdutyChannel.create(settings, ctx);
  try {
    const results = [];
    for (const a of alerts) results.push(await channel.send(a, SEND));
    return results;
  } finally {
    await channel.close?.();
  }
}

const bodies = () => rx.hits.map((h) => JSON.parse(h.body) as Record<string, unknown>);

test('a down triggers: POST /v2/enqueue with exactly routing_key, event_action, dedup_key = the incident, payload, client', async () => {
  const [result] = await sendWith(local(), item());
  assert.equal(result!.ok, true);
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, '/v2/enqueue');
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    routing_key: KEY,
    event_action: 'trigger',
    dedup_key: 'inc-7',
    payload: {
      summary: '[DOWN] http://insideweb:80/ — The service is down!',
      source: 'insideweb:80',
      severity: 'critical',
      timestamp: '2024-05-01T10:00:00.000Z',
      class: 'target down',
      custom_details: { message: 'The service is down!', target: 'http://insideweb:80/', reason: 'connection refused', incident: 'inc-7', alert_id: 'pd-1', recipient: 'admin@work' },
    },
    client: 'ch2',
  });
});

test('the up resolves the same dedup_key with only routing_key, event_action and dedup_key; a reminder sends nothing (reminders create no incidents)', async () => {
  const reminder = item({ id: 'pd-2', reminder: 1, downForMs: 600_000, time: '2024-05-01T10:10:00.000Z' });
  const up = item({ id: 'pd-3', status: 'up', message: 'The service is back up.', reason: undefined, downForMs: 900_000 });
  const results = await sendWith(local('&severity=warning'), item(), reminder, up);
  assert.deepEqual(results.map((r) => r.ok), [true, true, true]);
  assert.equal(bodies().length, 2, 'the down and the up reach PagerDuty; the reminder does not');
  const [down, resolve] = bodies() as [Record<string, any>, Record<string, any>];
  assert.equal(down.payload.severity, 'warning');
  assert.equal(down.event_action, 'trigger');
  assert.deepEqual(resolve, { routing_key: KEY, event_action: 'resolve', dedup_key: 'inc-7' });
});

test('dedup_key falls back to the target, then the alert id; one longer than 255 characters becomes its SHA-256', async () => {
  await sendWith(local(), item({ incident: undefined }), item({ incident: undefined, target: undefined }), item({ incident: 'i'.repeat(300) }));
  const keys = bodies().map((b) => b.dedup_key as string);
  assert.deepEqual(keys.slice(0, 2), ['http://insideweb:80/', 'pd-1']);
  assert.match(keys[2]!, /^sha256:[0-9a-f]{64}$/);
  assert.equal((bodies()[1]!.payload as { source: string }).source, 'ch2');
});

test('hostile alert text: one line, summary at most 1,024 characters, no links or images in the event', async () => {
  await sendWith(local(), item({ message: `line1\nline2\r\u2028<a href="https://evil">x</a> ${'m'.repeat(3000)}`, reason: 'r\n\u0007r' }));
  const body = bodies()[0]! as Record<string, any>;
  assert.ok(body.payload.summary.length <= 1024);
  assert.doesNotMatch(body.payload.summary, /[\n\r\u2028]/);
  assert.equal(body.payload.custom_details.reason, 'r r');
  assert.equal('links' in body || 'images' in body || 'client_url' in body, false);
});

test('answers: 202 sent; 400 permanent; 429 transient after Retry-After, else after 30 s; 5xx transient; no routing key in the error', async () => {
  rx.answers.push(
    status(400, `{"status":"invalid event","message":"Event object is invalid","errors":["bad routing_key ${KEY}"]}`),
    status(429, 'Request Limit Exceeded', { 'retry-after': '7' }),
    status(429, 'Request Limit Exceeded'),
    status(503, 'unavailable'),
  );
  const [bad, slow, slower, down, ok] = await sendWith(local(), item(), item(), item(), item(), item());
  assert.deepEqual(bad, { ok: false, retry: false, error: bad!.ok ? '' : bad!.error });
  assert.ok(!bad!.ok && !bad!.error.includes(KEY) && bad!.error.includes('HTTP 400'));
  assert.deepEqual([slow!.ok, !slow!.ok && slow!.retry, !slow!.ok && slow!.retryAfterMs], [false, true, 7000]);
  assert.deepEqual([slower!.ok, !slower!.ok && slower!.retry, !slower!.ok && slower!.retryAfterMs], [false, true, PAGERDUTY_BACKOFF_MS]);
  assert.deepEqual([down!.ok, !down!.ok && down!.retry, !down!.ok && down!.retryAfterMs], [false, true, undefined]);
  assert.equal(ok!.ok, true);
});

test('pagerduty:// URL: the host is the key, severity and api parameters; defaults critical and events.pagerduty.com; the key is a secret', () => {
  const s = fromUrl(`pagerduty://${KEY}`);
  assert.deepEqual([s.routingKey, s.severity, s.url.href], [KEY, 'critical', 'https://events.pagerduty.com/v2/enqueue']);
  assert.equal(fromUrl(`pagerduty://${KEY}?severity=Error&api=https://events.eu.pagerduty.com/`).url.href, 'https://events.eu.pagerduty.com/v2/enqueue');
  assert.equal(fromUrl(`pagerduty://R${KEY.slice(1).toUpperCase()}`).routingKey, `R${KEY.slice(1).toUpperCase()}`, 'ruleset keys keep their case');
  assert.deepEqual(pagerdutyChannel.secrets!(s), [KEY]);
  assert.equal(pagerdutyChannel.groups, false);
  assert.deepEqual(pagerdutyChannel.schemes, ['pagerduty']);
});

test('bad pagerduty:// URLs and config entries: ConfigError naming the part, never the key', () => {
  const secret = 'abcdef0123456789abcdef012345678';
  for (const url of [`pagerduty://${secret}`, `pagerduty://${KEY}?severity=loud`, `pagerduty://${KEY}?sev=1`, `pagerduty://${KEY}/x`, `pagerduty://u:${KEY}@events`, `pagerduty://${KEY}?api=ftp://x`]) {
    assert.throws(() => fromUrl(url), (err: Error) => err instanceof ConfigError && !err.message.includes(secret.slice(0, 12)) && /^pagerduty:\/\/ URL: /.test(err.message), url);
  }
  const conf = pagerdutyChannel.fromConfig!({ routingKey: KEY, severity: 'info', api: rx.base }) as PagerDutySettings;
  assert.deepEqual([conf.severity, conf.url.href], ['info', `${rx.base}/v2/enqueue`]);
  assert.throws(() => pagerdutyChannel.fromConfig!({ routingKey: secret }), (err: Error) => err instanceof ConfigError && /^routingKey: /.test(err.message) && !err.message.includes(secret));
  assert.throws(() => pagerdutyChannel.fromConfig!({ routingKey: KEY, severity: 3 }), /^ConfigError: severity: /);
  assert.throws(() => pagerdutyChannel.fromConfig!({ routingKey: KEY, api: 'nope' }), /^ConfigError: api: /);
  assert.throws(() => pagerdutyChannel.fromConfig!({ routingKey: KEY, severty: 'info' }), /^ConfigError: severty: unknown key for kind pagerduty; known: name, kind, match, group, routingKey, severity, api\.$/);
});

test('pagerduty:// host: accepted exactly when it is 32 letters or digits; an error never shows it (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{28,36}$/), fc.string({ minLength: 8, maxLength: 40 })), (host) => {
      let url: URL;
      try {
        url = new URL(`pagerduty://${host}`);
      } catch {
        return; // not a URL at all: the CLI refuses it before the kind sees it
      }
      try {
        const s = pagerdutyChannel.fromUrl!(url) as PagerDutySettings;
        assert.match(s.routingKey, /^[A-Za-z0-9]{32}$/);
        assert.equal(s.routingKey, host);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.ok(!/^[A-Za-z0-9]{32}$/.test(host) || url.hostname !== host);
        if (host.length >= 8) assert.ok(!err.message.includes(host));
      }
    }),
  );
});
