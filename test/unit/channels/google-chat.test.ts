/**
 * The Google Chat channel against a loopback receiver: the exact webhook
 * request (POST /v1/spaces/<space>/messages?key&token&messageReplyOption=
 * REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD, JSON text and thread.threadKey = the
 * incident), a down and its up in one thread, groups, hostile alert text
 * coming out inert (no link, mention or formatting), shoutrrr's googlechat://
 * form with `api`, the config entry, the secrets, and the verdicts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { googleChatChannel, googleChatEscape, googleChatPayload, googleChatText, type GoogleChatSettings, threadKey } from '../../../mailer/delivery/channels/google-chat.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { fakeReceiver, refuses, sendOnce, testContext } from '../../support/channel-fake.ts';

/** Arbitrary text, and text made of the characters that matter here. */
const hostile = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('*', '_', '~', '`', '<', '>', '&', ';', 'a', '\u200b', ' ') }));
const ctx = testContext('googlechat');
const rx = fakeReceiver();

const KEY = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI';
const TOKEN = 'ZMZXHOWBFqpAoMkrcRq1pczewKIojUxwZtkbpvE4l8Y%3D';
const HOOK = `chat.googleapis.com/v1/spaces/AAAArvs7_40/messages?key=${KEY}&token=${TOKEN}`;
const PATH = `/v1/spaces/AAAArvs7_40/messages?key=${KEY}&token=${TOKEN}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`;
const api = () => `api=${encodeURIComponent(rx.base)}`;
const item = (id: string, overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert(id, overrides);
const fromUrl = (url: string) => googleChatChannel.fromUrl!(new URL(url)) as GoogleChatSettings;
const local = () => fromUrl(`googlechat://${HOOK}&${api()}`);

const sendWith = (settings: GoogleChatSettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(googleChatChannel, settings, alert, ctx);

const refuse = (make: () => unknown, pattern: RegExp) => refuses(make, pattern, /AIzaSy|ZMZXHOW|AAAArvs7/);

test('the webhook gets exactly {text, thread: {threadKey: <incident>}} with messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD', async () => {
  const result = await sendWith(local(), item('gc-1', { incident: 'inc-42' }));
  assert.deepEqual(result, { ok: true, detail: 'HTTP 200' });
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, PATH);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    text: '[DOWN] http://insideweb:80/ — The service is down!\nReason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: gc-1',
    thread: { threadKey: 'inc-42' },
  });
});

test('a down and its up share a thread: the incident, else the target, else the alert id; a long key is hashed', async () => {
  await sendWith(local(), item('d-1', { incident: 'inc-7' }));
  await sendWith(local(), item('u-1', { incident: 'inc-7', status: 'up', message: 'The service is back up.', downForMs: 60_000 }));
  assert.deepEqual(rx.hits.map((h) => (JSON.parse(h.body) as { thread: { threadKey: string } }).thread.threadKey), ['inc-7', 'inc-7']);
  assert.equal(threadKey(item('x').alert), 'http://insideweb:80/');
  assert.equal(threadKey(item('only-id', { target: undefined }).alert), 'only-id');
  assert.match(threadKey(item('x', { incident: 'i'.repeat(5000) }).alert), /^sha256:[0-9a-f]{64}$/);
});

test('a group of one incident goes to its thread; a group of several incidents is a new thread of its own', async () => {
  const same = [item('g-1', { incident: 'inc-1' }), item('g-2', { incident: 'inc-1', status: 'up', message: 'The service is back up.' })];
  assert.deepEqual(googleChatPayload(messageLines(same), same).thread, { threadKey: 'inc-1' });
  const mixed = [item('g-1', { target: 'web-1' }), item('g-2', { target: 'web-2' })];
  assert.equal((await sendWith(local(), mixed)).ok, true);
  assert.equal(rx.hits.length, 1);
  const body = JSON.parse(rx.hits[0]!.body) as { text: string; thread?: unknown };
  assert.equal(body.thread, undefined);
  assert.match(body.text, /^\[DOWN\] 2 targets: web-1, web-2/);
});

test('hostile alert text comes out inert: <url|text> links, <users/all> mentions, *bold* _italic_ ~strike~ `code` fenced', () => {
  const text = googleChatText(messageLines([item('h-1', { message: '<https://evil|Reset password> <users/all> *b* _i_ ~s~ ```blk``` &amp;', reason: 'x\n* list' })]));
  const z = '\u200b';
  assert.equal(
    text.split('\n')[0],
    `[DOWN] http://insideweb:80/ — &lt;https://evil|Reset password&gt; &lt;users/all&gt; ${z}*${z}b${z}*${z} ${z}_${z}i${z}_${z} ${z}~${z}s${z}~${z} ${z}\`${z}${z}\`${z}${z}\`${z}blk${z}\`${z}${z}\`${z}${z}\`${z} &amp;amp;`,
  );
  assert.equal(text.split('\n')[1], `Reason: x ${z}*${z} list`);
  assert.doesNotMatch(text, /[<>]/);
});

test('googleChatEscape: no < or >, every * _ ~ ` fenced by zero-width spaces, reversibly (property)', () => {
  fc.assert(
    fc.property(hostile, (text) => {
      const out = googleChatEscape(text);
      assert.doesNotMatch(out, /[<>]/);
      assert.doesNotMatch(out, /&(?!amp;|lt;|gt;)/);
      for (const m of out.matchAll(/[*_~`]/g)) assert.ok(out[m.index - 1] === '\u200b' && out[m.index + 1] === '\u200b', JSON.stringify(out));
      assert.equal(out.replace(/\u200b([*_~`])\u200b/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'), text);
    }),
  );
});

test('a huge group stays within 4,096 characters and says what it left out', () => {
  const many = Array.from({ length: 200 }, (_, i) => item(`big-${i}`, { target: `web-${i}`, reason: '<*>'.repeat(50) }));
  const text = googleChatText(messageLines(many));
  assert.ok(text.length <= 4096, String(text.length));
  const lines = text.split('\n');
  assert.equal(lines.at(-1), `… and ${200 - (lines.length - 2)} more alerts`);
});

test("the URL form: shoutrrr's googlechat:// (and hangouts://, googlechat+https://) is the https webhook; api replaces its origin", () => {
  const hook = `https://${HOOK}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`;
  assert.equal(fromUrl(`googlechat://${HOOK}`).url.href, hook);
  assert.equal(fromUrl(`hangouts://${HOOK}`).url.href, hook);
  assert.equal(fromUrl(`googlechat+https://${HOOK}`).url.href, hook);
  assert.equal(local().url.href, `${rx.base}${PATH}`);
  refuse(() => fromUrl(`googlechat://chat.googleapis.com/v1/spaces/AAAArvs7_40/messages?key=${KEY}`), /spaces\/<space>\/messages\?key=<key>&token=<token>/);
  refuse(() => fromUrl(`googlechat://chat.googleapis.com/v1/rooms/AAAArvs7_40/messages?key=${KEY}&token=${TOKEN}`), /spaces\/<space>\/messages/);
  refuse(() => fromUrl(`googlechat://${HOOK}&threadKey=x`), /unknown parameter "threadKey"/);
  refuse(() => fromUrl(`googlechat://u:p@${HOOK}`), /expected googlechat:\/\/chat.googleapis.com/);
});

test('config entry { url }; the URL, its path and query, the key and the token are secrets', () => {
  const s = googleChatChannel.fromConfig!({ url: `https://${HOOK}` }) as GoogleChatSettings;
  assert.equal(s.url.href, `https://${HOOK}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`);
  refuse(() => googleChatChannel.fromConfig!({ url: `https://${HOOK}&x=1` }), /^url: unknown query parameter "x"/);
  refuse(() => googleChatChannel.fromConfig!({ url: 'https://chat.googleapis.com/v1/spaces/AAAArvs7_40/messages' }), /^url: expected/);
  refuse(() => googleChatChannel.fromConfig!({ url: `https://${HOOK}`, space: 'x' }), /^space: unknown key for kind googlechat; known: name, kind, match, group, url\.$/);
  assert.deepEqual(googleChatChannel.secrets!(s), [s.url.href, PATH, KEY, decodeURIComponent(TOKEN)]);
  assert.deepEqual([googleChatChannel.kind, googleChatChannel.groups, googleChatChannel.schemes], ['googlechat', true, ['googlechat', 'hangouts']]);
  assert.deepEqual(googleChatChannel.create(s, ctx).rateLimit, { count: 1, perMs: 1000 });
});

test('verdicts: 400/401/403/404 permanent, 429 transient after Retry-After, 5xx transient; no error holds the key or token', async () => {
  const cases: [number, Record<string, string>, boolean, number | undefined][] = [
    [400, {}, false, undefined],
    [401, {}, false, undefined],
    [403, {}, false, undefined],
    [404, {}, false, undefined],
    [429, { 'retry-after': '2' }, true, 2000],
    [500, {}, true, undefined],
  ];
  for (const [code, headers, retry, after] of cases) {
    rx.answers.push(status(code, `{"error":{"code":${code},"message":"key ${KEY} token ${decodeURIComponent(TOKEN)} refused","status":"X"}}`, headers));
    const result = await sendWith(local(), item('v-1'));
    assert.equal(result.ok, false, String(code));
    if (result.ok) continue;
    assert.equal(result.retry, retry, String(code));
    assert.equal(result.retryAfterMs, after, String(code));
    assert.match(result.error, new RegExp(`answered HTTP ${code}: .*key … token … refused`));
    assert.doesNotMatch(result.error, /AIzaSy|ZMZXHOW/, result.error);
  }
});
