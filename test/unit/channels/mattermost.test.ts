/**
 * The Mattermost channel against a loopback receiver: the exact incoming
 * webhook request (POST /hooks/<token>, JSON text[, username, channel,
 * icon]), hostile alert text coming out inert (no mention, channel link,
 * hashtag, masked link or markdown), shoutrrr's mattermost:// URL form with
 * disabletls and `api`, the config entry, the secrets, and the verdicts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mattermostChannel, mattermostEscape, mattermostText, type MattermostSettings } from '../../../mailer/delivery/channels/mattermost.ts';
import { messageLines } from '../../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { status } from '../../support/http-receiver.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { fakeReceiver, refuses, sendOnce, testContext } from '../../support/channel-fake.ts';

/** Arbitrary text, and text made of the characters that matter here. */
const hostile = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('\\', '*', '_', '`', '[', ']', '(', ')', '<', '>', '|', '!', '$', '&', '~', '@', '#', 'a', '\u200b', ' ') }));
const ctx = testContext('mattermost');
const rx = fakeReceiver();

const TOKEN = 'bywsw8zt5jgpte3nm65qjiru6h';
const api = () => `api=${encodeURIComponent(rx.base)}`;
const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('mm-1', overrides);
const fromUrl = (url: string) => mattermostChannel.fromUrl!(new URL(url)) as MattermostSettings;

const sendWith = (settings: MattermostSettings, alert: QueuedAlert | QueuedAlert[]) => sendOnce(mattermostChannel, settings, alert, ctx);

const refuse = (make: () => unknown, pattern: RegExp) => refuses(make, pattern, new RegExp(TOKEN));

test('the webhook gets exactly {text}: the subject bold, reason, time, id, at POST /hooks/<token>; 200 is sent', async () => {
  const result = await sendWith(fromUrl(`mattermost://chat.example/${TOKEN}?${api()}`), item());
  assert.deepEqual(result, { ok: true, detail: 'HTTP 200' });
  const hit = rx.hits[0]!;
  assert.equal(hit.method, 'POST');
  assert.equal(hit.path, `/hooks/${TOKEN}`);
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(hit.body), {
    text: '**\\[DOWN\\] http://insideweb:80/ — The service is down\\!**\nReason: connection refused\nTime: 2024-05-01T10:00:00.000Z\nAlert id: mm-1',
  });
});

test('username, channel and icon from the URL go into the payload (an emoji name or an image URL)', async () => {
  await sendWith(fromUrl(`mattermost://ch2bot@chat.example:8065/${TOKEN}/ops-alerts?icon=rotating_light&${api()}`), item());
  const body = JSON.parse(rx.hits[0]!.body) as Record<string, string>;
  assert.deepEqual([body.username, body.channel, body.icon_emoji, body.icon_url], ['ch2bot', 'ops-alerts', 'rotating_light', undefined]);
  const s = fromUrl(`mattermost://chat.example/${TOKEN}?icon_url=https://img.example/ch2.png`);
  assert.equal(s.icon, 'https://img.example/ch2.png');
});

test('hostile alert text comes out inert: @channel/@all/@here/@user, ~channel, #tag, masked links, images, markdown', () => {
  const text = mattermostText(
    messageLines([item({ message: '@channel @all @here @alice ~town-square #tag [x](https://evil) ![i](https://evil/p.png) **b** _i_ ~~s~~ `c` <https://evil> $x$ &lt; |t|', reason: 'r\n# h\n> q' })]),
  );
  assert.equal(
    text.split('\n')[0],
    '**\\[DOWN\\] http://insideweb:80/ — @\u200bchannel @\u200ball @\u200bhere @\u200balice \\~\u200btown-square #\u200btag \\[x\\]\\(https://evil\\) \\!\\[i\\]\\(https://evil/p.png\\) \\*\\*b\\*\\* \\_i\\_ \\~\u200b\\~\u200bs\\~\u200b\\~\u200b \\`c\\` \\<https://evil\\> \\$x\\$ \\&lt; \\|t\\|**',
  );
  assert.equal(text.split('\n')[1], 'Reason: r #\u200b h \\> q');
  assert.doesNotMatch(text, /@(channel|all|here|alice)|~town|#tag/);
});

test('mattermostEscape: markdown characters backslashed, @ ~ # followed by a zero-width space, reversibly (property)', () => {
  fc.assert(
    fc.property(hostile, (text) => {
      const out = mattermostEscape(text);
      assert.equal(out.replace(/([@~#])\u200b/g, '$1').replace(/\\([\\*_`[\]()<>|!$&~])/g, '$1'), text);
      for (const m of out.matchAll(/(\\*)([*_`[\]()<>|!$&~])/g)) assert.equal(m[1]!.length % 2, 1, out);
      assert.doesNotMatch(out, /[@~#](?!\u200b)/);
    }),
  );
});

test('a group is one post; a huge one stays within Mattermost\'s 16,383 characters and says what it left out', async () => {
  const a = sampleAlert('g-1', { target: 'web-1' });
  const b = sampleAlert('g-2', { target: 'web-2', status: 'up', message: 'The service is back up.', downForMs: 5_000 });
  assert.equal((await sendWith(fromUrl(`mattermost://h/${TOKEN}?${api()}`), [a, b])).ok, true);
  assert.equal(rx.hits.length, 1);
  assert.equal((JSON.parse(rx.hits[0]!.body) as { text: string }).text.split('\n').length, 3);
  const many = Array.from({ length: 300 }, (_, i) => sampleAlert(`big-${i}`, { target: `web-${i}`, reason: '*'.repeat(150) }));
  const text = mattermostText(messageLines(many));
  assert.ok(text.length <= 16_383, String(text.length));
  const lines = text.split('\n');
  assert.equal(lines.at(-1), `… and ${300 - (lines.length - 2)} more alerts`);
});

test('the URL form: https by default, disabletls=yes http, the port kept, api replaces scheme://host[:port] (a path prefix too)', () => {
  assert.equal(fromUrl(`mattermost://chat.example/${TOKEN}`).url.href, `https://chat.example/hooks/${TOKEN}`);
  assert.equal(fromUrl(`mattermost://chat.example:8065/${TOKEN}?disabletls=yes`).url.href, `http://chat.example:8065/hooks/${TOKEN}`);
  assert.equal(fromUrl(`mattermost://chat.example/${TOKEN}?api=${encodeURIComponent('https://corp.example/mattermost/')}`).url.href, `https://corp.example/mattermost/hooks/${TOKEN}`);
  refuse(() => fromUrl('mattermost://chat.example'), /path \/token or \/token\/channel/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}/a/b`), /path \/token or \/token\/channel/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}-x`), /the token is the webhook's id/);
  refuse(() => fromUrl(`mattermost://u:pw@chat.example/${TOKEN}`), /a password is not used/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}/bad%20channel`), /the channel: expected one word/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}?title=x`), /unknown parameter "title"/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}?disabletls=maybe`), /disabletls takes yes or no/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}?icon=a&icon_url=https://x/y`), /one of icon, icon_emoji, icon_url/);
  refuse(() => fromUrl(`mattermost://chat.example/${TOKEN}?icon=not%20an%20emoji`), /an emoji name .* or an http\(s\) URL/);
});

test('config entry { url, username?, channel?, icon? }; the URL, its path and the token are secrets', () => {
  const s = mattermostChannel.fromConfig!({ url: `https://chat.example/hooks/${TOKEN}`, username: 'ch2', channel: 'ops', icon: 'fire' }) as MattermostSettings;
  assert.deepEqual([s.url.href, s.username, s.channel, s.icon], [`https://chat.example/hooks/${TOKEN}`, 'ch2', 'ops', 'fire']);
  refuse(() => mattermostChannel.fromConfig!({ url: `https://chat.example/api/v4/${TOKEN}` }), /^url: expected an incoming webhook URL ending in \/hooks\/<token>/);
  refuse(() => mattermostChannel.fromConfig!({ url: `https://chat.example/hooks/${TOKEN}`, text: 'x' }), /^text: unknown key for kind mattermost; known: .*, url, username, channel, icon\.$/);
  refuse(() => mattermostChannel.fromConfig!({}), /^url: expected/);
  assert.deepEqual(mattermostChannel.secrets!(s), [s.url.href, `/hooks/${TOKEN}`, TOKEN]);
  assert.deepEqual([mattermostChannel.kind, mattermostChannel.groups, mattermostChannel.schemes], ['mattermost', true, ['mattermost']]);
  assert.deepEqual(mattermostChannel.create(s, ctx).rateLimit, { count: 10, perMs: 1000 });
});

test('verdicts: 400/401/403/404 permanent, 429 transient after Retry-After, 5xx transient; no error holds the token', async () => {
  const cases: [number, Record<string, string>, boolean, number | undefined][] = [
    [400, {}, false, undefined],
    [401, {}, false, undefined],
    [403, {}, false, undefined],
    [404, {}, false, undefined],
    [429, { 'retry-after': '3' }, true, 3000],
    [503, {}, true, undefined],
  ];
  for (const [code, headers, retry, after] of cases) {
    rx.answers.push(status(code, `{"id":"web.incoming_webhook.invalid.app_error","message":"Invalid webhook ${TOKEN}"}`, headers));
    const result = await sendWith(fromUrl(`mattermost://h/${TOKEN}?${api()}`), item());
    assert.equal(result.ok, false, String(code));
    if (result.ok) continue;
    assert.equal(result.retry, retry, String(code));
    assert.equal(result.retryAfterMs, after, String(code));
    assert.match(result.error, new RegExp(`answered HTTP ${code}: .*Invalid webhook …`));
    assert.doesNotMatch(result.error, new RegExp(TOKEN), result.error);
  }
});
