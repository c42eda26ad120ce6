/**
 * The ntfy channel against a loopback receiver: the exact JSON publish ntfy
 * documents (POST to the server root, topic/title/message/priority/tags,
 * markdown off), Basic and Bearer auth, shoutrrr's ntfy:// URL form and the
 * config entry, hostile alert text left unformatted, and the verdicts on
 * ntfy's answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cutBytes, ntfyChannel, ntfyPayload, ntfySettingsFromConfig, ntfySettingsFromUrl, type NtfySettings } from '../../../mailer/delivery/channels/ntfy.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { fakeReceiver, refuses, SEND, sendOnce, testContext } from '../../support/channel-fake.ts';

const ctx = testContext('ntfy');
const rx = fakeReceiver();

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('nt-1', overrides);
const fromUrl = (url: string) => ntfyChannel.fromUrl!(new URL(url)) as NtfySettings;
const api = () => `api=${encodeURIComponent(rx.base)}`;

const sendWith = (settings: NtfySettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(ntfyChannel, settings, alert, ctx);

test('a down alert is published as ntfy JSON to the server root: topic, title, message lines, priority 4, rotating_light, markdown off', async () => {
  const result = await sendWith(fromUrl(`ntfy://ntfy.example/alerts_1?${api()}`), item());
  assert.equal(result.ok, true);
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, '/');
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.equal(hit.headers.authorization, undefined);
  assert.deepEqual(JSON.parse(hit.body), {
    topic: 'alerts_1',
    title: '[DOWN] http://insideweb:80/ — The service is down!',
    message: 'Reason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: nt-1',
    priority: 4,
    tags: ['rotating_light'],
    markdown: false,
  });
});

test('an up alert: priority 3, white_check_mark; priority=5 raises only down alerts, priority=1 makes both quiet', async () => {
  const up = item({ status: 'up', message: 'The service is back up.', reason: undefined, downForMs: 60_000 });
  const body = (s: NtfySettings, a: QueuedAlert) => ntfyPayload(s, messageLines([a]), [a]);
  const loud = fromUrl('ntfy://h/t?priority=urgent&tags=prod,web');
  assert.deepEqual([body(loud, item()).priority, body(loud, item()).tags], [5, ['rotating_light', 'prod', 'web']]);
  assert.deepEqual([body(loud, up).priority, body(loud, up).tags], [3, ['white_check_mark', 'prod', 'web']]);
  const low = fromUrl('ntfy://h/t?priority=1');
  assert.deepEqual([body(low, item()).priority, body(low, up).priority], [1, 1]);
  assert.equal(body(fromUrl('ntfy://h/t'), up).message, 'Down for: 1m 0s\nTime: 2024-05-01T10:00:00.000Z\nAlert id: nt-1');
});

test('a group is one notification: every target in the title, a line per alert, down wins the tag and priority', async () => {
  const a = sampleAlert('g-1', { target: 'web-1' });
  const b = sampleAlert('g-2', { target: 'web-2', status: 'up', message: 'The service is back up.', downForMs: 5_000 });
  const result = await sendWith(fromUrl(`ntfy://h/t?${api()}`), [a, b]);
  assert.equal(result.ok, true);
  assert.equal(rx.hits.length, 1);
  const body = JSON.parse(rx.hits[0]!.body) as { title: string; message: string; priority: number; tags: string[] };
  assert.match(body.title, /^\[1 DOWN, 1 UP\] 2 targets: web-1, web-2/);
  assert.equal(body.message.split('\n').length, 2);
  assert.deepEqual([body.priority, body.tags], [4, ['rotating_light']]);
});

test('user:password@ is Basic auth; :token@ and ?token= are Bearer; cache=no and firebase=no become headers', async () => {
  await sendWith(fromUrl(`ntfy://phil:p%40ss@h/t?cache=no&firebase=no&${api()}`), item());
  assert.equal(rx.hits[0]!.headers.authorization, `Basic ${Buffer.from('phil:p@ss').toString('base64')}`);
  assert.equal(rx.hits[0]!.headers['x-cache'], 'no');
  assert.equal(rx.hits[0]!.headers['x-firebase'], 'no');
  await sendWith(fromUrl(`ntfy://:tk_abc123@h/t?${api()}`), item());
  assert.equal(rx.hits[1]!.headers.authorization, 'Bearer tk_abc123');
  assert.equal(rx.hits[1]!.headers['x-cache'], undefined);
  await sendWith(fromUrl(`ntfy://h/t?token=tk_xyz&${api()}`), item());
  assert.equal(rx.hits[2]!.headers.authorization, 'Bearer tk_xyz');
});

test('ntfy:// URL: host (default ntfy.sh), https unless scheme=http or disabletls=yes, api replaces the server; title, click, icon', () => {
  assert.equal(fromUrl('ntfy:///t').server.href, 'https://ntfy.sh/');
  assert.equal(fromUrl('ntfy://push.example:8080/t').server.href, 'https://push.example:8080/');
  assert.equal(fromUrl('ntfy://push.example/t?scheme=http').server.href, 'http://push.example/');
  assert.equal(fromUrl('ntfy://push.example/t?DisableTLS=yes').server.href, 'http://push.example/');
  assert.equal(fromUrl('ntfy://push.example/t?api=http%3A%2F%2F10.0.0.1%3A81%2Fntfy%2F').server.href, 'http://10.0.0.1:81/ntfy/');
  const s = fromUrl('ntfy://h/t?title=Prod&click=https%3A%2F%2Fstatus.example%2F&icon=https%3A%2F%2Fi.example%2Fa.png');
  const body = ntfyPayload(s, messageLines([item()]), [item()]);
  assert.equal(body.title, 'Prod');
  assert.match(String(body.message), /^\[DOWN\] http:\/\/insideweb:80\/ — The service is down!\nReason: /);
  assert.deepEqual([body.click, body.icon], ['https://status.example/', 'https://i.example/a.png']);
});

test('bad ntfy:// URLs are ConfigErrors that name the part and never echo a secret', () => {
  const bad: Array<[string, RegExp]> = [
    ['ntfy://h/', /topic/],
    ['ntfy://h/a/b', /topic/],
    ['ntfy://h/bad%20topic', /topic/],
    ['ntfy://h/t?priority=9', /priority/],
    ['ntfy://h/t?scheme=ftp', /scheme/],
    ['ntfy://h/t?scheme=https&disabletls=yes', /disabletls/],
    ['ntfy://h/t?markdown=yes', /markdown/],
    ['ntfy://h/t?delay=30m', /unknown parameter "delay"/],
    ['ntfy://phil@h/t', /password/],
    ['ntfy://phil:sekrit-pw@h/t?token=sekrit-tk', /token/],
    ['ntfy://:sekrit%20tk@h/t', /token/],
    ['ntfy://h/t?click=javascript:alert(1)', /click/],
    ['ntfy://h/t?api=ftp://x', /api/],
  ];
  for (const [url, part] of bad) refuses(() => fromUrl(url), part, /sekrit/, url);
});

test('secrets: the token or password and the Authorization header; without auth the topic itself', () => {
  assert.deepEqual(ntfyChannel.secrets!(fromUrl('ntfy://h/mytopic')), ['mytopic']);
  assert.deepEqual(ntfyChannel.secrets!(fromUrl('ntfy://:tk_1@h/t')), ['tk_1', 'Bearer tk_1', 'tk_1']);
  const b64 = Buffer.from('u:pw1').toString('base64');
  assert.deepEqual(ntfyChannel.secrets!(fromUrl('ntfy://u:pw1@h/t')), ['pw1', `Basic ${b64}`, b64]);
});

test('config entry: server, topic, token or user + password, priority, tags; unknown or mistyped keys refused by name', () => {
  const s = ntfySettingsFromConfig({ server: 'https://push.example/sub/', topic: 'ops', token: 'tk_9', priority: 5, tags: ['a', 'b'], cache: false });
  assert.deepEqual(
    [s.server.href, s.topic, s.authorization, s.priority, s.tags, s.cache, s.firebase],
    ['https://push.example/sub/', 'ops', 'Bearer tk_9', 5, ['a', 'b'], false, true],
  );
  assert.equal(ntfySettingsFromConfig({ topic: 'ops' }).server.href, 'https://ntfy.sh/');
  assert.throws(() => ntfySettingsFromConfig({}), /^ConfigError: topic: required/);
  assert.throws(() => ntfySettingsFromConfig({ topic: 'ops', url: 'x' }), /^ConfigError: url: unknown key for kind ntfy; known: /);
  assert.throws(() => ntfySettingsFromConfig({ topic: 'ops', tags: [1] }), /^ConfigError: tags:/);
  assert.throws(() => ntfySettingsFromConfig({ topic: 'ops', cache: 'no' }), /^ConfigError: cache:/);
  assert.throws(() => ntfySettingsFromConfig({ topic: 'ops', server: 'https://u:sekrit@h/' }), (e: Error) => /^server:/.test(e.message) && !e.message.includes('sekrit'));
});

test('hostile alert text stays plain: markdown off, no template, one line each, nothing rewritten', async () => {
  const hostile = item({ message: '**bold** [x](https://evil) {{.secret}} <b>hi</b>', reason: 'r\n# Heading\n> quote' });
  const body = ntfyPayload(fromUrl('ntfy://h/t'), messageLines([hostile]), [hostile]);
  assert.equal(body.markdown, false);
  assert.equal(body.title, '[DOWN] http://insideweb:80/ — **bold** [x](https://evil) {{.secret}} <b>hi</b>');
  assert.equal(String(body.message).split('\n')[0], 'Reason: r # Heading > quote');
  await sendWith(fromUrl(`ntfy://h/t?${api()}`), hostile);
  assert.equal(rx.hits[0]!.headers['x-template'], undefined);
});

test('the message is cut to 4,096 UTF-8 bytes, the title to 250 characters', () => {
  const big = item({ message: 'é'.repeat(400), reason: '€'.repeat(3000) });
  const group = Array.from({ length: 80 }, (_, i) => sampleAlert(`big-${i}`, { target: `web-${i}`, reason: '€'.repeat(200) }));
  const s = fromUrl('ntfy://h/t');
  for (const items of [[big], group]) {
    const body = ntfyPayload(s, messageLines(items), items);
    assert.ok(Buffer.byteLength(String(body.message)) <= 4096);
    assert.ok(String(body.title).length <= 250);
    assert.ok(String(body.title).endsWith('…'));
  }
  assert.ok(String(ntfyPayload(s, messageLines(group), group).message).endsWith('…'));
});

test('cutBytes: at most max bytes, a prefix of the text, never a split surrogate (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 4, max: 400 }), (text, max) => {
      const out = cutBytes(text, max);
      assert.ok(Buffer.byteLength(out) <= max);
      if (out === text) return;
      assert.ok(out.endsWith('…'));
      assert.ok(text.startsWith(out.slice(0, -1)));
      assert.doesNotMatch(out, /[\ud800-\udbff]…$/);
    }),
  );
});

test('ntfy:// URL parser: any password round-trips into Basic auth or is refused without being echoed (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (password) => {
      let s: NtfySettings;
      try {
        s = fromUrl(`ntfy://user:${encodeURIComponent(password)}@h/t`);
      } catch (err) {
        // The one refusal a password can meet (a control character) is a fixed line: nothing of it is echoed.
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, 'ntfy:// URL: user: must hold no colon or control character (the URL is not shown).');
        assert.match(password, /[\u0000-\u001f\u007f]/);
        return;
      }
      assert.equal(Buffer.from(s.authorization!.slice('Basic '.length), 'base64').toString('utf8'), `user:${password}`);
    }),
  );
});

test('answers: 429 transient (Retry-After honoured, else 5 s), 5xx transient, 400/401/403/404/413 permanent', async () => {
  const s = fromUrl(`ntfy://:tk_secret1@h/t?${api()}`);
  const channel = ntfyChannel.create(s, ctx);
  try {
    rx.answers.push(status(429, '{"code":42901,"http":429,"error":"limit reached: too many requests"}'));
    assert.deepEqual(await channel.send(item(), SEND), { ok: false, retry: true, error: `${rx.base} answered HTTP 429: {"code":42901,"http":429,"error":"limit reached: too many requests"}`, retryAfterMs: 5_000 });
    rx.answers.push(status(429, '', { 'retry-after': '30' }));
    assert.equal((await channel.send(item(), SEND) as { retryAfterMs?: number }).retryAfterMs, 30_000);
    rx.answers.push(status(503, 'down'));
    const busy = await channel.send(item(), SEND);
    assert.deepEqual([busy.ok, !busy.ok && busy.retry, !busy.ok && busy.retryAfterMs], [false, true, undefined]);
    for (const code of [400, 401, 403, 404, 413]) {
      rx.answers.push(status(code, '{"code":40101,"error":"unauthorized"}'));
      const r = await channel.send(item(), SEND);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.retry, false, `HTTP ${code}`);
      assert.ok(!r.ok && !r.error.includes('tk_secret1'));
    }
  } finally {
    await channel.close?.();
  }
});
