/**
 * The Matrix channel against a loopback receiver: the exact client-server API
 * request (PUT …/rooms/<roomId>/send/m.room.message/<txnId>, Bearer token,
 * m.text body, m.mentions: {}), a transaction id that is the same on every
 * retry (so the homeserver de-duplicates) and differs per room and message,
 * several rooms, shoutrrr's matrix:// URL form and the config entry, @room
 * made inert, and the verdicts on the homeserver's answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  matrixBody,
  matrixChannel,
  matrixEscape,
  matrixRateLimit,
  matrixSettingsFromConfig,
  type MatrixSettings,
  matrixTxnId,
} from '../../../mailer/delivery/channels/matrix.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { ConfigError } from '../../../shared/config.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { fakeReceiver, refuses, SEND, testContext } from '../../support/channel-fake.ts';

const ctx = testContext('matrix');
const TOKEN = 'syt_Ym90_sekritToken_0abc';
const ROOM = '!abc123:example.org';
const rx = fakeReceiver();

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('mx-1', overrides);
const fromUrl = (url: string) => matrixChannel.fromUrl!(new URL(url)) as MatrixSettings;
const local = (rooms = ROOM) => fromUrl(`matrix://:${TOKEN}@matrix.example.org/?rooms=${encodeURIComponent(rooms)}&api=${encodeURIComponent(rx.base)}`);
const sendPath = (room: string, txn: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${txn}`;

test('a down alert: PUT /_matrix/client/v3/rooms/<room id encoded>/send/m.room.message/<txn from the alert id>, Bearer, plain m.text', async () => {
  const channel = matrixChannel.create(local(), ctx);
  try {
    assert.equal((await channel.send(item(), SEND)).ok, true);
  } finally {
    await channel.close?.();
  }
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'PUT');
  assert.equal(hit.path, sendPath(ROOM, matrixTxnId([item()], ROOM)));
  assert.match(hit.path, /^\/_matrix\/client\/v3\/rooms\/!abc123%3Aexample\.org\/send\/m\.room\.message\/ch2-[0-9a-f]{32}$/);
  assert.equal(hit.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    msgtype: 'm.text',
    body: '[DOWN] http://insideweb:80/ — The service is down!\nReason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: mx-1',
    'm.mentions': {},
  });
});

test('a retry reuses the transaction id (the homeserver de-duplicates); another alert, room or group gets another', async () => {
  const channel = matrixChannel.create(local(), ctx);
  try {
    rx.answers.push(status(502, 'bad gateway'));
    assert.equal((await channel.send(item(), SEND)).ok, false);
    assert.equal((await channel.send(item(), SEND)).ok, true);
    await channel.sendGroup!([item(), sampleAlert('mx-2')], SEND);
  } finally {
    await channel.close?.();
  }
  assert.equal(rx.hits[0]!.path, rx.hits[1]!.path);
  assert.notEqual(rx.hits[2]!.path, rx.hits[0]!.path);
  const ids = new Set([matrixTxnId([item()], ROOM), matrixTxnId([item()], '!other:x'), matrixTxnId([sampleAlert('mx-2')], ROOM), matrixTxnId([item(), sampleAlert('mx-2')], ROOM)]);
  assert.equal(ids.size, 4);
  assert.equal(matrixTxnId([sampleAlert('a'), sampleAlert('b')], ROOM), matrixTxnId([sampleAlert('a'), sampleAlert('b')], ROOM));
});

test('several rooms: one send posts to each in order; it stops at the first failure and names the room', async () => {
  const rooms = `${ROOM},!second:example.org,!third:example.org`;
  const channel = matrixChannel.create(local(rooms), ctx);
  try {
    assert.equal((await channel.send(item(), SEND)).ok, true);
    assert.deepEqual(rx.hits.map((h) => h.path), rooms.split(',').map((r) => sendPath(r, matrixTxnId([item()], r))));
    rx.reset();
    rx.answers.push(status(200, '{"event_id":"$1"}'), status(403, '{"errcode":"M_FORBIDDEN","error":"not in room"}'));
    const r = await channel.send(item(), SEND);
    assert.deepEqual(r, { ok: false, retry: false, error: `${rx.base} answered HTTP 403: {"errcode":"M_FORBIDDEN","error":"not in room"} (room !second:example.org)` });
    assert.equal(rx.hits.length, 2, 'the third room is not tried');
  } finally {
    await channel.close?.();
  }
});

test('answers: 429 M_LIMIT_EXCEEDED waits retry_after_ms (else Retry-After); 401/403/404 permanent; 5xx transient; no token in errors', async () => {
  const channel = matrixChannel.create(local(), ctx);
  try {
    rx.answers.push(status(429, '{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2000}', { 'content-type': 'application/json' }));
    const limited = await channel.send(item(), SEND);
    assert.deepEqual([limited.ok, !limited.ok && limited.retry, !limited.ok && limited.retryAfterMs], [false, true, 2000]);
    rx.answers.push(status(429, '{"errcode":"M_LIMIT_EXCEEDED"}', { 'retry-after': '3' }));
    assert.equal((await channel.send(item(), SEND) as { retryAfterMs?: number }).retryAfterMs, 3_000);
    const refusals: Array<[number, string]> = [
      [401, '{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid access token passed."}'],
      [403, '{"errcode":"M_FORBIDDEN","error":"User not in room"}'],
      [404, '{"errcode":"M_NOT_FOUND","error":"Unknown room"}'],
      [400, '{"errcode":"M_BAD_JSON"}'],
    ];
    for (const [code, body] of refusals) {
      rx.answers.push(status(code, body));
      const r = await channel.send(item(), SEND);
      assert.deepEqual([r.ok, !r.ok && r.retry], [false, false], `HTTP ${code}`);
      assert.ok(!r.ok && r.error.includes(JSON.parse(body).errcode) && !r.error.includes(TOKEN));
    }
    rx.answers.push(status(500, '{"errcode":"M_UNKNOWN"}'));
    const r = await channel.send(item(), SEND);
    assert.equal(!r.ok && r.retry, true);
  } finally {
    await channel.close?.();
  }
});

test('matrix:// URL: https host, disableTLS=yes is http, api replaces the homeserver, rooms and room, title as a first line', () => {
  const s = fromUrl(`matrix://:${TOKEN}@matrix.example.org:8448/?rooms=!a:x,!b:y&room=!c:z`);
  assert.deepEqual([s.homeserver.href, s.token, s.rooms], ['https://matrix.example.org:8448/', TOKEN, ['!a:x', '!b:y', '!c:z']]);
  assert.equal(fromUrl(`matrix://:${TOKEN}@m.example/?rooms=!a:x&disableTLS=yes`).homeserver.href, 'http://m.example/');
  assert.equal(fromUrl(`matrix://:${TOKEN}@m.example/?rooms=!a:x&api=http%3A%2F%2F10.0.0.2%2Fsynapse`).homeserver.href, 'http://10.0.0.2/synapse/');
  assert.equal(fromUrl('matrix://:tok%2Fen@m.example/?rooms=!NoDomainRoomV12').token, 'tok/en');
  const titled = fromUrl(`matrix://:${TOKEN}@m/?rooms=!a:x&title=Prod`);
  assert.match(matrixBody(titled, messageLines([item()])).body, /^Prod\n\[DOWN\] /);
  assert.deepEqual(matrixChannel.secrets!(s), [TOKEN]);
});

test('refused matrix:// URLs: user/password login, aliases, no rooms, unknown parameters; never the token', () => {
  const bad: Array<[string, RegExp]> = [
    ['matrix://bot:sekrit-pw@m/?rooms=!a:x', /user: logging in with a user and password is not supported; give an access token/],
    ['matrix://m/?rooms=!a:x', /token/],
    ['matrix://:sekrit@m/?rooms=%23general:x', /room aliases/],
    ['matrix://:sekrit@m/?rooms=#general:x', /room aliases/],
    ['matrix://:sekrit@m/?rooms=general', /room aliases/],
    ['matrix://:sekrit@m/', /rooms: required/],
    ['matrix://:sekrit@m/?rooms=!a:x,!a:x', /twice/],
    ['matrix://:sekrit@m/?rooms=!a%20b:x', /room id/],
    ['matrix://:sekrit@m/?rooms=!a:x&deviceID=d', /unknown parameter "deviceID"/],
    ['matrix://:sekrit%20x@m/?rooms=!a:x', /token/],
    ['matrix://:sekrit@m/path?rooms=!a:x', /path/],
  ];
  for (const [url, part] of bad) refuses(() => fromUrl(url), part, /sekrit/, url);
});

test('config entry: homeserver, token, rooms (a list or a comma list), title; missing or unknown keys refused by name', () => {
  const s = matrixSettingsFromConfig({ homeserver: 'https://matrix.example.org', token: TOKEN, rooms: [ROOM, '!b:x'] });
  assert.deepEqual([s.homeserver.href, s.token, s.rooms], ['https://matrix.example.org/', TOKEN, [ROOM, '!b:x']]);
  assert.deepEqual(matrixSettingsFromConfig({ homeserver: 'https://m/', token: TOKEN, rooms: '!a:x, !b:y' }).rooms, ['!a:x', '!b:y']);
  assert.throws(() => matrixSettingsFromConfig({ token: TOKEN, rooms: [ROOM] }), /^ConfigError: homeserver: required/);
  assert.throws(() => matrixSettingsFromConfig({ homeserver: 'https://m/', rooms: [ROOM] }), /^ConfigError: token: required/);
  assert.throws(() => matrixSettingsFromConfig({ homeserver: 'https://m/', token: TOKEN }), /^ConfigError: rooms:/);
  assert.throws(() => matrixSettingsFromConfig({ homeserver: 'https://m/', token: TOKEN, rooms: ['#alias:x'] }), /^ConfigError: rooms: room aliases/);
  assert.throws(() => matrixSettingsFromConfig({ homeserver: 'https://m/', token: TOKEN, rooms: [ROOM], user: 'bot' }), /^ConfigError: user: unknown key for kind matrix; known: .*, homeserver, token, rooms, title\.$/);
});

test('hostile alert text: plain body only (no formatted_body), m.mentions empty, @room broken, HTML and markdown as typed', () => {
  const hostile = item({ message: '@room @ROOM <a href="https://evil">x</a> **b** @admin:example.org', reason: 'r\n> quote' });
  const body = matrixBody(local(), messageLines([hostile]));
  assert.deepEqual(Object.keys(body).sort(), ['body', 'm.mentions', 'msgtype']);
  assert.deepEqual(body['m.mentions'], {});
  assert.equal(body.body.split('\n')[0], '[DOWN] http://insideweb:80/ — @\u2060room @\u2060ROOM <a href="https://evil">x</a> **b** @admin:example.org');
  assert.equal(body.body.split('\n')[1], 'Reason: r > quote');
});

test('matrixEscape: no @room survives in any case, and only word joiners are added (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('@', 'r', 'o', 'R', 'O', 'm', 'M', ' ', '\u2060', 'x') }), (text) => {
      const out = matrixEscape(text);
      assert.doesNotMatch(out, /@room/i);
      assert.equal(out.replaceAll('\u2060', ''), text.replaceAll('\u2060', ''));
    }),
  );
});

test('rate limit: Synapse\'s 0.2 messages a second, burst 10, spread over the rooms a send posts to', () => {
  assert.deepEqual(matrixRateLimit(1), { count: 10, perMs: 50_000 });
  assert.deepEqual(matrixRateLimit(3), { count: 3, perMs: 45_000 });
  assert.deepEqual(matrixRateLimit(12), { count: 1, perMs: 60_000 });
  const channel = matrixChannel.create(local(`${ROOM},!b:x`), ctx);
  assert.deepEqual(channel.rateLimit, { count: 5, perMs: 50_000 });
  void channel.close?.();
});
