/**
 * The Gotify channel against a loopback receiver: the exact request Gotify's
 * message API documents (POST <server>/message, the token in X-Gotify-Key
 * and nowhere in the URL, text/plain extras), shoutrrr's gotify:// URL form
 * and the config entry, and the verdicts on Gotify's answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { gotifyChannel, gotifyPayload, gotifySettingsFromConfig, type GotifySettings, isGotifyToken } from '../../../mailer/delivery/channels/gotify.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { fakeReceiver, refuses, SEND, sendOnce, testContext } from '../../support/channel-fake.ts';

const ctx = testContext('gotify');
const TOKEN = 'AbCdEf.gh_ij-k1';
const rx = fakeReceiver();

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('go-1', overrides);
const fromUrl = (url: string) => gotifyChannel.fromUrl!(new URL(url)) as GotifySettings;
const api = (path = '') => `api=${encodeURIComponent(rx.base + path)}`;

const sendWith = (settings: GotifySettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(gotifyChannel, settings, alert, ctx);

test('a down alert: POST /message, token in X-Gotify-Key only, {title, message, priority 8, extras text/plain}', async () => {
  assert.equal((await sendWith(fromUrl(`gotify://push.example/${TOKEN}?${api()}`), item())).ok, true);
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, '/message');
  assert.equal(hit.headers['x-gotify-key'], TOKEN);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.ok(!hit.path.includes(TOKEN) && !hit.body.includes(TOKEN), 'the token is in the header only');
  assert.deepEqual(JSON.parse(hit.body), {
    title: '[DOWN] http://insideweb:80/ — The service is down!',
    message: 'Reason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: go-1',
    priority: 8,
    extras: { 'client::display': { contentType: 'text/plain' } },
  });
});

test('up alerts get priority 4 at most; priority= replaces the down priority; a group is one message', async () => {
  const up = item({ status: 'up', message: 'The service is back up.', reason: undefined });
  const body = (s: GotifySettings, items: QueuedAlert[]) => gotifyPayload(s, messageLines(items), items);
  assert.equal(body(fromUrl(`gotify://h/${TOKEN}`), [up]).priority, 4);
  assert.deepEqual([body(fromUrl(`gotify://h/${TOKEN}?priority=10`), [item()]).priority, body(fromUrl(`gotify://h/${TOKEN}?priority=10`), [up]).priority], [10, 4]);
  assert.deepEqual([body(fromUrl(`gotify://h/${TOKEN}?priority=2`), [item()]).priority, body(fromUrl(`gotify://h/${TOKEN}?priority=2`), [up]).priority], [2, 2]);
  const result = await sendWith(fromUrl(`gotify://h/${TOKEN}?${api()}`), [sampleAlert('a', { target: 'web-1' }), sampleAlert('b', { target: 'web-2' })]);
  assert.equal(result.ok, true);
  assert.equal(rx.hits.length, 1);
  const sent = JSON.parse(rx.hits[0]!.body) as { title: string; message: string };
  assert.match(sent.title, /^\[DOWN\] 2 targets: web-1, web-2/);
  assert.equal(sent.message.split('\n').length, 2);
});

test('gotify:// URL: https, sub-path kept, disabletls=yes is http, api replaces the server, title= is the notification title', () => {
  assert.equal(fromUrl(`gotify://push.example/${TOKEN}`).url.href, 'https://push.example/message');
  assert.equal(fromUrl(`gotify://push.example:8443/apps/gotify/${TOKEN}/`).url.href, 'https://push.example:8443/apps/gotify/message');
  assert.equal(fromUrl(`gotify://push.example/${TOKEN}?disabletls=yes&useheader=yes`).url.href, 'http://push.example/message');
  assert.equal(fromUrl(`gotify://push.example/${TOKEN}?api=http%3A%2F%2F10.1.1.1%2Fg`).url.href, 'http://10.1.1.1/g/message');
  const s = fromUrl(`gotify://h/${TOKEN}?title=Prod%20alerts`);
  const body = gotifyPayload(s, messageLines([item()]), [item()]);
  assert.equal(body.title, 'Prod alerts');
  assert.match(String(body.message), /^\[DOWN\] http:\/\/insideweb:80\/ — The service is down!\nReason: connection refused\n/);
});

test('bad gotify:// URLs are ConfigErrors naming the part, never echoing the token', () => {
  const bad: Array<[string, RegExp]> = [
    ['gotify://push.example/', /token/],
    ['gotify://push.example/Bsekritsekrit12', /token/],
    ['gotify://push.example/Asekrit', /token/],
    [`gotify:///${TOKEN}`, /host/],
    ['gotify://h/Asekritsekrit12?priority=11', /priority/],
    ['gotify://h/Asekritsekrit12?insecureskipverify=yes', /unknown parameter "insecureskipverify"/],
    ['gotify://h/Asekritsekrit12?disabletls=maybe', /disabletls/],
  ];
  for (const [url, part] of bad) refuses(() => fromUrl(url), part, /sekrit/, url);
  assert.deepEqual(gotifyChannel.secrets!(fromUrl(`gotify://h/${TOKEN}`)), [TOKEN]);
});

test('config entry: server (with sub-path), token, priority, title; missing or unknown keys refused by name', () => {
  const s = gotifySettingsFromConfig({ server: 'https://push.example/gotify/', token: TOKEN, priority: 6 });
  assert.deepEqual([s.url.href, s.token, s.priority], ['https://push.example/gotify/message', TOKEN, 6]);
  assert.throws(() => gotifySettingsFromConfig({ token: TOKEN }), /^ConfigError: server: required/);
  assert.throws(() => gotifySettingsFromConfig({ server: 'https://h/' }), /^ConfigError: token: required/);
  assert.throws(() => gotifySettingsFromConfig({ server: 'https://h/', token: TOKEN, topic: 'x' }), /^ConfigError: topic: unknown key for kind gotify; known: name, kind, match, group, server, token, priority, title\.$/);
  assert.throws(() => gotifySettingsFromConfig({ server: `https://h/?token=${TOKEN}`, token: TOKEN }), (e: Error) => /^server:/.test(e.message) && !e.message.includes(TOKEN));
  assert.throws(() => gotifySettingsFromConfig({ server: 'https://h/', token: 'Asekritsekrit1' }), (e: Error) => /^token:/.test(e.message) && !e.message.includes('sekrit'));
});

test('hostile alert text is plain text: content type text/plain, markdown and HTML untouched, one line each', () => {
  const hostile = item({ message: '**bold** [x](https://evil) ![img](https://evil/t.png) <script>x</script>', reason: 'a\n# H\n- list' });
  const body = gotifyPayload(fromUrl(`gotify://h/${TOKEN}`), messageLines([hostile]), [hostile]);
  assert.deepEqual(body.extras, { 'client::display': { contentType: 'text/plain' } });
  assert.equal(body.title, '[DOWN] http://insideweb:80/ — **bold** [x](https://evil) ![img](https://evil/t.png) <script>x</script>');
  assert.equal(String(body.message).split('\n')[0], 'Reason: a # H - list');
});

test('isGotifyToken is exactly Gotify\'s rule: 15 characters, A first, then letters, digits, . _ - (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'AbZ09._-/ é%'.split('')), maxLength: 20 }), (token) => {
      const expected = token.length === 15 && token[0] === 'A' && [...token].every((c) => /[A-Za-z0-9._-]/.test(c));
      assert.equal(isGotifyToken(token), expected);
    }),
  );
});

test('answers: 400/401/403/404 permanent, 429 transient with Retry-After, 5xx transient; no error names the token', async () => {
  const channel = gotifyChannel.create(fromUrl(`gotify://h/${TOKEN}?${api('/sub')}`), ctx);
  try {
    for (const code of [400, 401, 403, 404]) {
      rx.answers.push(status(code, '{"error":"Unauthorized","errorCode":401,"errorDescription":"you need to provide a valid access token"}'));
      const r = await channel.send(item(), SEND);
      assert.equal(!r.ok && r.retry, false, `HTTP ${code}`);
      assert.ok(!r.ok && r.error.startsWith(`${rx.base} answered HTTP ${code}`) && !r.error.includes(TOKEN));
    }
    rx.answers.push(status(429, '', { 'retry-after': '7' }));
    assert.deepEqual(await channel.send(item(), SEND), { ok: false, retry: true, error: `${rx.base} answered HTTP 429`, retryAfterMs: 7_000 });
    rx.answers.push(status(502, 'bad gateway'));
    const r = await channel.send(item(), SEND);
    assert.equal(!r.ok && r.retry, true);
    assert.equal(rx.hits.at(-1)!.path, '/sub/message');
  } finally {
    await channel.close?.();
  }
});
