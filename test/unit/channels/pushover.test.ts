/**
 * The Pushover channel against a loopback receiver: the exact JSON Pushover's
 * message API documents (POST /1/messages.json, token, user, message, title,
 * priority, device), Pushover's length limits, shoutrrr's pushover:// URL
 * form and the config entry, and the verdicts on Pushover's answers (errors
 * named, no retry sooner than 5 s).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { pushoverChannel, pushoverErrors, pushoverPayload, pushoverSettingsFromConfig, type PushoverSettings } from '../../../mailer/delivery/channels/pushover.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { fakeReceiver, SEND, sendOnce, testContext } from '../../support/channel-fake.ts';

const ctx = testContext('pushover');
const TOKEN = 'azGDORePK8gMaC0QOYAMyEEuzJnyUi';
const USER = 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG';
const rx = fakeReceiver();

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('po-1', overrides);
const fromUrl = (url: string) => pushoverChannel.fromUrl!(new URL(url)) as PushoverSettings;
const api = () => `api=${encodeURIComponent(rx.base)}`;
const local = (query = '') => fromUrl(`pushover://shoutrrr:${TOKEN}@${USER}/?${api()}${query}`);

const sendWith = (settings: PushoverSettings, alert: QueuedAlert) => sendOnce(pushoverChannel, settings, alert, ctx);

test('a down alert: POST /1/messages.json as JSON {token, user, message, title, priority 0}', async () => {
  assert.equal((await sendWith(local(), item())).ok, true);
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, '/1/messages.json');
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    token: TOKEN,
    user: USER,
    message: 'Reason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: po-1',
    title: '[DOWN] http://insideweb:80/ — The service is down!',
    priority: 0,
  });
});

test('devices= becomes device (comma-separated); priority= replaces the down priority, up alerts stay at -1 at most; title=', async () => {
  await sendWith(local('&devices=phone,tablet_2&priority=1&title=Prod'), item());
  const body = JSON.parse(rx.hits[0]!.body) as Record<string, unknown>;
  assert.deepEqual([body.device, body.priority, body.title], ['phone,tablet_2', 1, 'Prod']);
  assert.match(String(body.message), /^\[DOWN\] http:\/\/insideweb:80\/ — The service is down!\nReason:/);
  const up = item({ status: 'up', message: 'The service is back up.', reason: undefined });
  const p = (s: PushoverSettings, a: QueuedAlert) => pushoverPayload(s, messageLines([a]), [a]).priority;
  assert.deepEqual([p(local(), up), p(local('&priority=1'), up), p(local('&priority=-2'), up), p(local('&priority=-2'), item())], [-1, -1, -2, -2]);
});

test('the default endpoint is https://api.pushover.net/1/messages.json; the token and user key are secrets', () => {
  const s = fromUrl(`pushover://shoutrrr:${TOKEN}@${USER}/`);
  assert.equal(s.url.href, 'https://api.pushover.net/1/messages.json');
  assert.deepEqual([s.token, s.user, s.devices], [TOKEN, USER, []]);
  assert.deepEqual(pushoverChannel.secrets!(s), [TOKEN, USER]);
});

test('message cut to 1,024 characters, title to 250, for a single alert and a large group', () => {
  const group = Array.from({ length: 40 }, (_, i) => sampleAlert(`a-${i}`, { target: `web-${i}` }));
  const single = [item({ message: 'm'.repeat(600), reason: 'r'.repeat(2000) })];
  for (const items of [single, group]) {
    const body = pushoverPayload(local(), messageLines(items), items);
    assert.ok(String(body.message).length <= 1024);
    assert.ok(String(body.title).length <= 250 && String(body.title).endsWith('…'));
  }
  const body = pushoverPayload(local(), messageLines(group), group);
  assert.ok(String(body.message).length === 1024 && String(body.message).endsWith('…'));
});

test('bad pushover:// URLs are ConfigErrors naming the part, never echoing the token or user key', () => {
  const t = 'sekritsekritsekritsekritsekrit';
  const bad: Array<[string, RegExp]> = [
    [`pushover://shoutrrr@${USER}/`, /token/],
    [`pushover://shoutrrr:short@${USER}/`, /token/],
    [`pushover://shoutrrr:${TOKEN}@sekrit/`, /user/],
    [`pushover://shoutrrr:${t}@${USER}/extra`, /path/],
    [`pushover://shoutrrr:${t}@${USER}/?priority=2`, /emergency/],
    [`pushover://shoutrrr:${t}@${USER}/?priority=high`, /priority/],
    [`pushover://shoutrrr:${t}@${USER}/?devices=my%20phone`, /devices/],
    [`pushover://shoutrrr:${t}@${USER}/?sound=siren`, /unknown parameter "sound"/],
  ];
  for (const [url, part] of bad) {
    assert.throws(() => fromUrl(url), (err: Error) => {
      assert.ok(err instanceof ConfigError, url);
      assert.match(err.message, part, url);
      assert.ok(!err.message.includes('sekrit') && !err.message.includes(USER) && !err.message.includes(TOKEN), url);
      return true;
    });
  }
});

test('config entry: token, user, devices, priority, title; missing, mistyped or unknown keys refused by name', () => {
  const s = pushoverSettingsFromConfig({ token: TOKEN, user: USER, devices: ['phone'], priority: -1, title: 'Ops' });
  assert.deepEqual([s.url.href, s.devices, s.priority, s.title], ['https://api.pushover.net/1/messages.json', ['phone'], -1, 'Ops']);
  assert.throws(() => pushoverSettingsFromConfig({ user: USER }), /^ConfigError: token: required/);
  assert.throws(() => pushoverSettingsFromConfig({ token: TOKEN }), /^ConfigError: user: required/);
  assert.throws(() => pushoverSettingsFromConfig({ token: TOKEN, user: USER, devices: [1] }), /^ConfigError: devices:/);
  assert.throws(() => pushoverSettingsFromConfig({ token: TOKEN, user: USER, sound: 'x' }), /^ConfigError: sound: unknown key for kind pushover; known: /);
  assert.throws(() => pushoverSettingsFromConfig({ token: 'x'.repeat(29), user: USER }), /^ConfigError: token:/);
});

test('hostile alert text stays plain: no html flag, tags and entities untouched, one line each', () => {
  const hostile = item({ message: '<b>bold</b> <a href="https://evil">x</a> &amp; <font color="red">r</font>', reason: 'a\nb' });
  const body = pushoverPayload(local(), messageLines([hostile]), [hostile]);
  assert.equal(body.html, undefined);
  assert.equal(body.title, '[DOWN] http://insideweb:80/ — <b>bold</b> <a href="https://evil">x</a> &amp; <font color="red">r</font>');
  assert.equal(String(body.message).split('\n')[0], 'Reason: a b');
});

test('answers: 4xx permanent with Pushover\'s errors named; 429 and 5xx transient, never sooner than 5 s (Retry-After longer kept)', async () => {
  const channel = pushoverChannel.create(local(), ctx);
  try {
    rx.answers.push(status(400, JSON.stringify({ user: 'invalid', errors: ['user identifier is not a valid user, group, or subscribed user key', `token ${TOKEN} is invalid`], status: 0, request: 'r1' })));
    assert.deepEqual(await channel.send(item(), SEND), {
      ok: false,
      retry: false,
      error: `${rx.base} answered HTTP 400: user identifier is not a valid user, group, or subscribed user key; token … is invalid`,
    });
    for (const code of [401, 403, 404]) {
      rx.answers.push(status(code, 'nope'));
      const r = await channel.send(item(), SEND);
      assert.deepEqual([r.ok, !r.ok && r.retry], [false, false], `HTTP ${code}`);
    }
    rx.answers.push(status(429, '{"status":0,"errors":["monthly limit reached"]}'));
    assert.deepEqual(await channel.send(item(), SEND), { ok: false, retry: true, error: `${rx.base} answered HTTP 429: {"status":0,"errors":["monthly limit reached"]}`, retryAfterMs: 5_000 });
    rx.answers.push(status(500, 'oops', { 'retry-after': '1' }));
    assert.equal((await channel.send(item(), SEND) as { retryAfterMs?: number }).retryAfterMs, 5_000);
    rx.answers.push(status(503, '', { 'retry-after': '60' }));
    assert.equal((await channel.send(item(), SEND) as { retryAfterMs?: number }).retryAfterMs, 60_000);
  } finally {
    await channel.close?.();
  }
});

test('pushoverErrors: never lets a secret through, whatever the errors say (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.constant(TOKEN), fc.constant(USER)), { minLength: 1, maxLength: 5 }), fc.string(), (parts, glue) => {
      const errors = [parts.join(glue), ...parts];
      const out = pushoverErrors(JSON.stringify({ status: 0, errors }), [TOKEN, USER]);
      assert.ok(out !== undefined);
      assert.ok(!out.includes(TOKEN) && !out.includes(USER));
      assert.ok(out.length <= 300);
    }),
  );
  assert.equal(pushoverErrors('<html>502</html>', [TOKEN]), undefined);
  assert.equal(pushoverErrors('{"status":0}', [TOKEN]), undefined);
});
