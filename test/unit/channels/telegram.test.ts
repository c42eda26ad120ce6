/**
 * The Telegram channel against a loopback Bot API: the exact sendMessage
 * request (path /bot<token>/sendMessage, JSON chat_id, text, parse_mode HTML,
 * link previews off), hostile alert text coming out inert (no tag, no
 * @mention), several chats sent to in order and stopping at the first
 * failure, retry_after honoured, the bot token in no error text, the
 * telegram:// URL form and config entry, and the rate limits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { telegramChannel, telegramEscape, telegramRateLimit, telegramText, type TelegramSettings } from '../../../mailer/delivery/channels/telegram.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { Receiver, status } from '../../support/http-receiver.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { fakeReceiver, refuses, sendOnce, testContext } from '../../support/channel-fake.ts';

/** Arbitrary text, and text made of the characters that matter here. */
const hostile = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('@', 'a', '_', '<', '>', '&', ';', 'l', 't', '\u200b', ' ') }));
const ctx = testContext('telegram');
const rx = fakeReceiver(status(200, '{"ok":true,"result":{"message_id":1}}', { 'content-type': 'application/json' }));

const BOT = '110201543';
const SECRET = 'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const TOKEN = `${BOT}:${SECRET}`;
const api = () => `api=${encodeURIComponent(rx.base)}`;
const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('tg-1', overrides);
const fromUrl = (url: string) => telegramChannel.fromUrl!(new URL(url)) as TelegramSettings;
const local = (chats: string) => fromUrl(`telegram://${TOKEN}@telegram?chats=${encodeURIComponent(chats)}&${api()}`);
const bodies = () => rx.hits.map((h) => JSON.parse(h.body) as Record<string, unknown>);

const sendWith = (settings: TelegramSettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(telegramChannel, settings, alert, ctx);

const json = (code: number, body: unknown) => status(code, JSON.stringify(body), { 'content-type': 'application/json' });

const refuse = (make: () => unknown, pattern: RegExp) => refuses(make, pattern, new RegExp(`${SECRET}|${BOT}`));

test('sendMessage gets exactly {chat_id, text, parse_mode: "HTML", link_preview_options: {is_disabled: true}} at /bot<token>/sendMessage', async () => {
  const result = await sendWith(local('123456789'), item());
  assert.deepEqual(result, { ok: true, detail: 'sent to 1 chat' });
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, `/bot${TOKEN}/sendMessage`);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    chat_id: 123456789,
    text: '<b>[DOWN] http://insideweb:80/ — The service is down!</b>\nReason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: tg-1',
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
  });
});

test('hostile alert text comes out inert: <a href>, <b>, entities and @mentions escaped or broken', () => {
  const text = telegramText(messageLines([item({ message: '<a href="https://evil">Reset</a> </b><i>x</i> &amp; @admin @all', reason: 'r\n<code>' })]));
  assert.equal(
    text,
    '<b>[DOWN] http://insideweb:80/ — &lt;a href="https://evil"&gt;Reset&lt;/a&gt; &lt;/b&gt;&lt;i&gt;x&lt;/i&gt; &amp;amp; @\u200badmin @\u200ball</b>\n' +
      'Reason: r &lt;code&gt;\nTime: 2024-05-01T10:00:00.000Z\nAlert id: tg-1',
  );
  // Only our own <b>…</b> is a tag.
  assert.deepEqual(text.match(/<[^>]*>/g), ['<b>', '</b>']);
});

test('telegramEscape: no < or > survives, no @ is followed by a name, and it round-trips (property)', () => {
  fc.assert(
    fc.property(hostile, (text) => {
      const out = telegramEscape(text);
      assert.doesNotMatch(out, /[<>]/);
      assert.doesNotMatch(out, /@[A-Za-z0-9_]/);
      assert.doesNotMatch(out, /&(?!amp;|lt;|gt;)/);
      assert.equal(out.replace(/@\u200b/g, '@').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'), text);
    }),
  );
});

test('a huge group stays within 4,096 characters and says how many alerts it left out', () => {
  const many = Array.from({ length: 200 }, (_, i) => sampleAlert(`big-${i}`, { target: `web-${i}`, reason: '@'.repeat(100) }));
  const text = telegramText(messageLines(many));
  const shown = text.replace(/<\/?b>/g, '').replace(/&lt;|&gt;|&amp;/g, '.');
  assert.ok(shown.length <= 4096, String(shown.length));
  const lines = text.split('\n');
  assert.equal(lines.at(-1), `… and ${200 - (lines.length - 2)} more alerts`);
});

test('several chats: each gets the message in order (a @channel and a forum topic too); a silent, previewing URL says so', async () => {
  const s = fromUrl(`telegram://${TOKEN}@telegram?chats=-1001234567890:42,@alerts_chan,777&notification=no&preview=yes&${api()}`);
  assert.deepEqual(await sendWith(s, item()), { ok: true, detail: 'sent to 3 chats' });
  const sent = bodies();
  assert.deepEqual(sent.map((b) => [b.chat_id, b.message_thread_id]), [[-1001234567890, 42], ['@alerts_chan', undefined], [777, undefined]]);
  for (const b of sent) {
    assert.equal(b.disable_notification, true);
    assert.equal(b.link_preview_options, undefined);
  }
});

test('stops at the first chat that fails; the result is its failure, naming the chat and who had it already', async () => {
  rx.answers.push(status(200, '{"ok":true}'), json(403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }));
  const result = await sendWith(local('1,2,3'), item());
  assert.equal(rx.hits.length, 2, 'chat 3 is not tried');
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.retry, false);
  assert.match(result.error, /HTTP 403 for chat 2: Forbidden: bot was blocked by the user \(1 of 3 chats had it already; a retry sends to every chat again\)$/);
});

test('429 honours parameters.retry_after (seconds) as a transient result with retryAfterMs', async () => {
  rx.answers.push(json(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 5', parameters: { retry_after: 5 } }));
  const result = await sendWith(local('1'), item());
  assert.deepEqual(result, { ok: false, retry: true, error: `${rx.base} answered HTTP 429 for chat 1: Too Many Requests: retry after 5`, retryAfterMs: 5000 });
});

test('verdicts: 400 (and a migrated group), 401, 403, 404 permanent; 5xx and a non-JSON 502 transient; the token in no error', async () => {
  const cases: [ReturnType<typeof status>, boolean, RegExp][] = [
    [json(400, { ok: false, error_code: 400, description: "Bad Request: can't parse entities" }), false, /HTTP 400 for chat 1: Bad Request: can't parse entities$/],
    [json(400, { ok: false, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -1009 } }), false, /now the supergroup -1009: use that chat id/],
    [json(401, { ok: false, error_code: 401, description: `Unauthorized ${TOKEN}` }), false, /HTTP 401 for chat 1: Unauthorized …$/],
    [json(403, { ok: false, description: `Forbidden for bot${SECRET}` }), false, /HTTP 403/],
    [status(404, `no such path /bot${TOKEN}/sendMessage`), false, /HTTP 404/],
    [json(500, { ok: false, description: 'Internal Server Error' }), true, /HTTP 500 for chat 1/],
    [status(502, `<html>bad gateway ${SECRET}</html>`), true, /HTTP 502.*\(chat 1\)$/],
  ];
  for (const [answer, retry, pattern] of cases) {
    rx.answers.push(answer);
    const result = await sendWith(local('1'), item());
    assert.equal(result.ok, false);
    if (result.ok) continue;
    assert.equal(result.retry, retry, result.error);
    assert.match(result.error, pattern);
    assert.doesNotMatch(result.error, new RegExp(SECRET), result.error);
  }
});

test('a network failure names the API by scheme and host only: no token in the error', async () => {
  const dead = new Receiver();
  await dead.listen();
  const base = dead.base;
  await dead.close();
  const s = fromUrl(`telegram://${TOKEN}@telegram?chats=1&api=${encodeURIComponent(base)}`);
  const result = await sendWith(s, item());
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.retry, true);
  assert.match(result.error, new RegExp(`^${base.replace(/\./g, '\\.')}`));
  assert.doesNotMatch(result.error, new RegExp(`${SECRET}|/bot`));
});

test('the URL form: token = user:password, chats or channels, the default api; bad URLs refused without the token', () => {
  const s = fromUrl(`telegram://${TOKEN}@telegram?channels=-100123`);
  assert.equal(s.token, TOKEN);
  assert.equal(s.url.href, `https://api.telegram.org/bot${TOKEN}/sendMessage`);
  assert.deepEqual(s.chats, [{ id: '-100123' }]);
  assert.deepEqual([s.notification, s.preview], [true, false]);
  assert.equal(fromUrl(`telegram://${TOKEN}@telegram?chats=1&parsemode=HTML`).chats.length, 1);
  refuse(() => fromUrl(`telegram://${BOT}@telegram?chats=1`), /expected telegram:\/\/<bot id>:<secret>@telegram/);
  refuse(() => fromUrl(`telegram://${BOT}:bad%20${SECRET}@telegram?chats=1`), /the token: expected a bot token/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram`), /no chat given/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram?chats=1,1`), /the same chat is given twice/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram?chats=not a chat`), /is no chat/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram?chats=1&parsemode=markdownv2`), /only HTML/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram?chats=1&title=x`), /unknown parameter "title"/);
  refuse(() => fromUrl(`telegram://${TOKEN}@telegram?chats=1&channels=2`), /chats or channels, not both/);
});

test('config entry { token, chats, notification?, preview?, api? }; the token and its secret half are secrets', () => {
  const s = telegramChannel.fromConfig!({ token: TOKEN, chats: ['-100123', '@chan_name'], notification: false, api: rx.base }) as TelegramSettings;
  assert.equal(s.url.href, `${rx.base}/bot${TOKEN}/sendMessage`);
  assert.deepEqual(s.chats, [{ id: '-100123' }, { id: '@chan_name' }]);
  assert.equal(s.notification, false);
  assert.deepEqual((telegramChannel.fromConfig!({ token: TOKEN, chats: '1, 2' }) as TelegramSettings).chats, [{ id: '1' }, { id: '2' }]);
  refuse(() => telegramChannel.fromConfig!({ token: 'nope', chats: ['1'] }), /^token: expected a bot token/);
  refuse(() => telegramChannel.fromConfig!({ token: TOKEN, chats: [1] }), /^chats: expected a list/);
  refuse(() => telegramChannel.fromConfig!({ token: TOKEN, chats: ['1'], chat: '2' }), /^chat: unknown key for kind telegram; known: /);
  refuse(() => telegramChannel.fromConfig!({ token: TOKEN, chats: ['1'], preview: 'yes' }), /^preview: expected true or false/);
  assert.deepEqual(telegramChannel.secrets!(s), [TOKEN, SECRET, s.url.href]);
  assert.equal(telegramChannel.groups, true);
});

test('rate limits: 1/s for private chats, 20/min with a group or channel, slower past 30 chats', () => {
  const chats = (...ids: string[]) => ids.map((id) => ({ id }));
  assert.deepEqual(telegramRateLimit(chats('1')), { count: 1, perMs: 1000 });
  assert.deepEqual(telegramRateLimit(chats('1', '2')), { count: 1, perMs: 1000 });
  assert.deepEqual(telegramRateLimit(chats('1', '-100')), { count: 20, perMs: 60_000 });
  assert.deepEqual(telegramRateLimit(chats('@chan')), { count: 20, perMs: 60_000 });
  assert.deepEqual(telegramRateLimit(chats(...Array.from({ length: 60 }, (_, i) => String(i + 1)))), { count: 1, perMs: 2000 });
  assert.deepEqual(telegramChannel.create(local('-1'), ctx).rateLimit, { count: 20, perMs: 60_000 });
});
