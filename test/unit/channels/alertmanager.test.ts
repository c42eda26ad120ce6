/**
 * The Alertmanager channel against a loopback receiver, on node:test's mock
 * clock: the exact API v2 postable alerts (a down active until now + 4 ×
 * repeat, its up with the same labels and endsAt = its time), the re-posts
 * every `repeat` while an incident lasts (refreshed by reminders, ended by
 * the up, given up after 24 h), no firing re-post landing after a resolve,
 * basic auth and path prefix, the URL forms and config entry, and the
 * verdicts on Alertmanager's answers.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, afterEach, before, beforeEach, mock, test } from 'node:test';
import fc from 'fast-check';
import { alertLabels, type AlertmanagerChannel, alertmanagerChannel, type AlertmanagerSettings, MAX_REFRESH_MS } from '../../../mailer/delivery/channels/alertmanager.ts';
import type { ChannelContext } from '../../../mailer/delivery/channels/channel.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { Receiver, status } from '../../support/http-receiver.ts';

const SEND = { signal: new AbortController().signal };
const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {}, output() {} };
const ctx: ChannelContext = { name: 'alertmanager', log, from: 'x@y', httpTimeoutMs: 5_000 };
const NOW = Date.parse('2024-05-01T10:00:05.000Z');
const MIN = 60_000;
const rx = new Receiver();

before(() => rx.listen());
after(() => rx.close());
let channel: AlertmanagerChannel | undefined;
beforeEach(() => {
  rx.reset();
  warnings.length = 0;
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: NOW });
});
afterEach(async () => {
  await channel?.close?.();
  channel = undefined;
  mock.timers.reset();
});

const fromUrl = (url: string) => alertmanagerChannel.fromUrl!(new URL(url)) as AlertmanagerSettings;
const create = (s: AlertmanagerSettings) => (channel = alertmanagerChannel.create(s, ctx) as AlertmanagerChannel);
const open = (query = '') => create(fromUrl(`alertmanager://${rx.base.slice(7)}${query}`));
const down = (target: string, overrides: Partial<QueuedAlert['alert']> = {}) => sampleAlert(`d-${target}`, { target, ...overrides });
const up = (target: string, overrides: Partial<QueuedAlert['alert']> = {}) =>
  sampleAlert(`u-${target}`, { target, status: 'up', message: 'The service is back up.', reason: undefined, time: '2024-05-01T10:03:00.000Z', downForMs: 180_000, ...overrides });
type Posted = { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string };
const posted = (i: number) => JSON.parse(rx.hits[i]!.body) as Posted[];
const iso = (ms: number) => new Date(ms).toISOString();
/** Advance the mock clock by `ms` and wait for the re-post it causes to be done; then `n` requests have come in all. */
async function tickTo(ms: number, n: number): Promise<void> {
  mock.timers.tick(ms);
  await channel!.idle();
  assert.equal(rx.hits.length, n, `${n} requests after the tick`);
}

test('a down is POSTed to /api/v2/alerts as one active postable alert: labels, annotations, startsAt = its time, endsAt = now + 4 × repeat', async () => {
  assert.equal((await open().send(down('http://insideweb:80/', { incident: 'inc-1' }), SEND)).ok, true);
  const hit = rx.hits[0]!;
  assert.deepEqual([hit.method, hit.path, hit.headers['content-type'], hit.headers.authorization], ['POST', '/api/v2/alerts', 'application/json', undefined]);
  assert.deepEqual(JSON.parse(hit.body), [
    {
      labels: { alertname: 'TargetDown', target: 'http://insideweb:80/', instance: 'insideweb:80' },
      annotations: {
        summary: 'http://insideweb:80/ — The service is down!',
        description: 'The service is down! Reason: connection refused.',
        reason: 'connection refused',
        incident: 'inc-1',
      },
      startsAt: '2024-05-01T10:00:00.000Z',
      endsAt: iso(NOW + 4 * MIN),
    },
  ]);
});

test('re-posted every repeat with a fresh endsAt while it lasts; the up posts the same labels with endsAt = its time, and the re-posts stop', async () => {
  const c = open('?repeat=1m');
  await c.send(down('http://a/'), SEND);
  await c.send(down('http://b/'), SEND);
  await tickTo(MIN, 3);
  assert.deepEqual(posted(2).map((a) => [a.labels.target, a.startsAt, a.endsAt]), [
    ['http://a/', '2024-05-01T10:00:00.000Z', iso(NOW + 5 * MIN)],
    ['http://b/', '2024-05-01T10:00:00.000Z', iso(NOW + 5 * MIN)],
  ]);
  await tickTo(MIN, 4);
  assert.equal(posted(3)[0]!.endsAt, iso(NOW + 6 * MIN));
  assert.equal((await c.send(up('http://a/', { time: '2024-05-01T10:02:00.000Z', downForMs: 120_000 }), SEND)).ok, true);
  assert.deepEqual(posted(4), [
    { labels: posted(0)[0]!.labels, annotations: { summary: 'http://a/ — The service is back up.', description: 'The service is back up. Down for 2m 0s.' }, startsAt: '2024-05-01T10:00:00.000Z', endsAt: '2024-05-01T10:02:00.000Z' },
  ]);
  await tickTo(MIN, 6);
  assert.deepEqual(posted(5).map((a) => a.labels.target), ['http://b/'], 'the resolved alert is re-posted no more');
});

test('an up whose down this channel never saw (a restart) resolves by labels: startsAt = its time − downForMs, endsAt at the latest now', async () => {
  await open().send(up('http://a/', { time: '2024-05-01T11:00:00.000Z' }), SEND);
  const [alert] = posted(0);
  assert.deepEqual([alert!.labels, alert!.startsAt, alert!.endsAt], [alertLabels(up('http://a/').alert), iso(NOW - 180_000), iso(NOW)]);
});

test('reminders refresh an incident; one not heard of for 24 h is no longer re-posted', async () => {
  const c = open('?repeat=1h');
  await c.send(down('http://a/'), SEND);
  await c.send(down('http://b/'), SEND);
  let n = 2;
  for (let hour = 1; hour <= 24; hour += 1) {
    await tickTo(3_600_000, ++n);
    assert.equal(posted(n - 1).length, 2, `hour ${hour}`);
    if (hour === 12) {
      await c.send(down('http://b/', { id: 'rem-1', reminder: 1, downForMs: 12 * 3_600_000, time: iso(NOW + 12 * 3_600_000) }), SEND);
      n += 1;
      assert.equal(posted(n - 1)[0]!.startsAt, '2024-05-01T10:00:00.000Z', 'the reminder keeps its incident\'s start');
    }
  }
  await tickTo(3_600_000, ++n);
  assert.ok(25 * 3_600_000 > MAX_REFRESH_MS);
  assert.deepEqual(posted(n - 1).map((a) => a.labels.target), ['http://b/'], 'a: 25 h without news; b: a reminder at 12 h');
});

test('the up waits for a firing re-post under way, so that no firing copy lands after the resolve', async () => {
  const c = open();
  await c.send(down('http://a/'), SEND);
  let held: ServerResponse | undefined;
  let released = false;
  rx.answers.push((_req, res) => void (held = res));
  mock.timers.tick(MIN);
  await new Promise<void>((resolve) => {
    const check = () => (held ? resolve() : setImmediate(check));
    check();
  });
  let upArrivedEarly = false;
  rx.fallback = (req, res) => {
    if (req.url !== '/probe') upArrivedEarly ||= !released;
    status(200, '')(req, res);
  };
  const sending = c.send(up('http://a/', { time: '2024-05-01T10:01:00.000Z' }), SEND);
  // A round trip of our own: a channel that did not wait would have its request in by now.
  await fetch(`${rx.base}/probe`).then((r) => r.text());
  released = true;
  held!.writeHead(200).end();
  assert.equal((await sending).ok, true);
  assert.equal(upArrivedEarly, false);
  assert.deepEqual(rx.hits.map((h) => h.path), ['/api/v2/alerts', '/api/v2/alerts', '/probe', '/api/v2/alerts']);
  assert.equal(posted(3)[0]!.endsAt, '2024-05-01T10:01:00.000Z');
});

test('answers: 400 permanent and not re-posted; 429 with Retry-After and 5xx transient; a failed re-post is logged and tried again', async () => {
  const c = open();
  rx.answers.push(status(400, '{"code":400,"message":"start time must be before end time"}'), status(429, 'slow', { 'retry-after': '3' }), status(503, 'down'));
  const bad = await c.send(down('http://a/'), SEND);
  assert.ok(!bad.ok && !bad.retry && /HTTP 400: .*start time/.test(bad.error));
  const slow = await c.send(down('http://b/'), SEND);
  assert.ok(!slow.ok && slow.retry && slow.retryAfterMs === 3000);
  const busy = await c.send(down('http://b/'), SEND);
  assert.ok(!busy.ok && busy.retry);
  assert.equal((await c.send(down('http://c/'), SEND)).ok, true);
  rx.answers.push(status(502, 'bad gateway'));
  await tickTo(MIN, 5);
  assert.deepEqual(posted(4).map((a) => a.labels.target), ['http://c/'], 'only what was accepted is kept');
  assert.match(warnings.join('\n'), /^alertmanager: re-posting 1 active alert\(s\) failed .*HTTP 502/);
  await tickTo(MIN, 6);
  assert.deepEqual(posted(5).map((a) => a.labels.target), ['http://c/']);
});

test('alertmanager://user:pass@host:port/prefix: basic auth, the path prefix, the password a secret; close() stops the timer', async () => {
  const s = fromUrl(`alertmanager://ops:p%40ss%3Aw@${rx.base.slice(7)}/am/`);
  assert.deepEqual([s.url.href, s.username, s.password, s.repeatMs], [`${rx.base}/am/api/v2/alerts`, 'ops', 'p@ss:w', MIN]);
  const c = create(s);
  await c.send(down('http://a/'), SEND);
  assert.equal(rx.hits[0]!.path, '/am/api/v2/alerts');
  assert.equal(rx.hits[0]!.headers.authorization, `Basic ${Buffer.from('ops:p@ss:w').toString('base64')}`);
  assert.deepEqual(alertmanagerChannel.secrets!(s), ['p@ss:w', 'p%40ss%3Aw', 'ops:p@ss:w', Buffer.from('ops:p@ss:w').toString('base64')]);
  await c.close?.();
  channel = undefined;
  mock.timers.tick(10 * MIN);
  await fetch(`${rx.base}/probe`).then((r) => r.text());
  assert.deepEqual(rx.hits.map((h) => h.path), ['/am/api/v2/alerts', '/probe'], 'nothing re-posted after close()');
});

test('URL forms and config entries: alertmanager+https, api, repeat; bad ones are a ConfigError that names the part and shows no password', () => {
  assert.equal(fromUrl('alertmanager+https://am.example:9093').url.href, 'https://am.example:9093/api/v2/alerts');
  assert.equal(fromUrl('alertmanager://[::1]:9093?repeat=30s').repeatMs, 30_000);
  assert.equal(fromUrl('alertmanager://x:1?api=http://127.0.0.1:8080/base/').url.href, 'http://127.0.0.1:8080/base/api/v2/alerts');
  for (const url of ['alertmanager:///am', 'alertmanager://u:hunter22@h:1?repeat=soon', 'alertmanager://u:hunter22@h:1?repeat=2h', 'alertmanager://u:hunter22@h:1?bogus=1', 'alertmanager://u:hunter22%@h:1']) {
    assert.throws(() => fromUrl(url), (err: Error) => err instanceof ConfigError && /^alertmanager:\/\/ URL: /.test(err.message) && !err.message.includes('hunter22'), url);
  }
  const conf = alertmanagerChannel.fromConfig!({ url: 'https://ops:hunter22@am.example/am/', repeat: '2m' }) as AlertmanagerSettings;
  assert.deepEqual([conf.url.href, conf.username, conf.password, conf.repeatMs], ['https://am.example/am/api/v2/alerts', 'ops', 'hunter22', 120_000]);
  for (const entry of [{ url: 'ftp://ops:hunter22@h' }, { url: 'http://ops:hunter22@h?x=1' }, { url: 42 }]) {
    assert.throws(() => alertmanagerChannel.fromConfig!(entry), (err: Error) => err instanceof ConfigError && /^url: /.test(err.message) && !err.message.includes('hunter22'));
  }
  assert.throws(() => alertmanagerChannel.fromConfig!({ url: 'http://h', repeat: '0s' }), /^ConfigError: repeat: /);
  assert.throws(() => alertmanagerChannel.fromConfig!({ url: 'http://h', repeat: true }), /^ConfigError: repeat: expected a duration such as 1m\.$/);
  assert.equal((alertmanagerChannel.fromConfig!({ url: 'http://h', repeat: 90 }) as AlertmanagerSettings).repeatMs, 90_000);
  assert.throws(() => alertmanagerChannel.fromConfig!({ url: 'http://h', repat: '2m' }), /^ConfigError: repat: unknown key for kind alertmanager; known: name, kind, match, group, url, repeat\.$/);
  assert.equal(alertmanagerChannel.groups, false);
});

test('labels: a down, its reminders and its up have the very same labels, one line each, with any alert text (property)', () => {
  fc.assert(
    fc.property(fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined }), fc.string({ maxLength: 50 }), fc.string({ maxLength: 80 }), (target, to, message) => {
      const a = sampleAlert('p-1', { target, to, message }).alert;
      const labels = alertLabels(a);
      assert.deepEqual(alertLabels({ ...a, id: 'p-2', status: 'up', message: 'up', reason: undefined }), labels);
      assert.deepEqual(alertLabels({ ...a, id: 'p-3', reminder: 2 }), labels);
      assert.equal(labels.alertname, 'TargetDown');
      for (const value of Object.values(labels)) assert.doesNotMatch(value, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }),
  );
});
