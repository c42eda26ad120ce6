/**
 * The Discord channel against a loopback receiver: the exact body Discord's
 * webhook gets (`content`, `allowed_mentions: {parse: []}`, SUPPRESS_EMBEDS),
 * at most 2,000 characters, and hostile alert text coming out inert: no
 * mention, no masked link, no markdown.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, test } from 'node:test';
import fc from 'fast-check';
import { discordChannel, discordEscape, discordPayload } from '../../../mailer/delivery/channels/discord.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { chatLines } from '../../../mailer/delivery/email-content.ts';
import { channelOf, channelsOf, parseChannelOptions, secretsOf } from '../../support/channel-options.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { Receiver, status } from '../../support/http-receiver.ts';

const SEND = { signal: new AbortController().signal };
const rx = new Receiver();
before(() => rx.listen());
after(() => rx.close());
beforeEach(() => {
  rx.reset();
  rx.fallback = status(204);
});

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('dc-1', overrides);

async function post(alert: QueuedAlert): Promise<{ content: string; allowed_mentions: unknown; flags: number }> {
  const channel = channelOf(discordChannel, { url: new URL(`${rx.base}/api/webhooks/1/discordsecret`) });
  try {
    assert.deepEqual(await channel.send(alert, SEND), { ok: true, detail: 'HTTP 204' });
  } finally {
    await channel.close?.();
  }
  const hit = rx.hits.at(-1)!;
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.equal(hit.headers['idempotency-key'], alert.alert.id);
  return JSON.parse(hit.body) as { content: string; allowed_mentions: unknown; flags: number };
}

test('Discord gets exactly {content, allowed_mentions: {parse: []}, flags: 4}: bold subject, reason, outage, time, id', async () => {
  assert.deepEqual(await post(item({ status: 'up', message: 'The service is back up.', reason: undefined, downForMs: 3_723_000 })), {
    content: '**\\[UP\\] http://insideweb:80/ — The service is back up.**\nDown for: 1h 2m\nTime: 2024-05-01T10:00:00.000Z\nAlert id: dc-1',
    allowed_mentions: { parse: [] },
    flags: 4,
  });
});

test('hostile alert text comes out inert in Discord: masked links, @everyone, <@123>, markdown, even with mentions allowed', async () => {
  const body = await post(
    item({
      message: '[Reset your password](https://evil) @everyone @here <@123> <@&456> <#789> **b** __u__ ~~s~~ ||spoiler|| `code` \\*',
      reason: 'x\n# Heading\n> quote\n-# small',
    }),
  );
  assert.equal(
    body.content,
    '**\\[DOWN\\] http://insideweb:80/ — \\[Reset your password\\]\\(https://evil\\) @\u200beveryone @\u200bhere \\<@123\\> \\<@&456\\> \\<\\#789\\> \\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| \\`code\\` \\\\\\***\n' +
      'Reason: x \\# Heading \\> quote -\\# small\nTime: 2024-05-01T10:00:00.000Z\nAlert id: dc-1',
  );
  assert.deepEqual(body.allowed_mentions, { parse: [] });
  // Inert without allowed_mentions too: no "@everyone" / "@here", and every markdown character is escaped.
  assert.doesNotMatch(body.content, /@(everyone|here)/);
});

test('discordEscape: every markdown character backslashed, nothing else changed but @everyone/@here (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (text) => {
      const out = discordEscape(text);
      // Undo: drop the zero-width spaces after @, then the backslashes before markdown characters.
      const back = out.replace(/@\u200b(everyone|here)/gi, '@$1').replace(/\\([\\*_~`|<>[\]()#])/g, '$1');
      assert.equal(back, text.replace(/@\u200b(everyone|here)/gi, '@$1'));
      // No markdown character is left unescaped: each is preceded by an odd run of backslashes.
      for (const m of out.matchAll(/(\\*)([*_~`|<>[\]()#])/g)) assert.equal(m[1]!.length % 2, 1, out);
      assert.doesNotMatch(out, /@(everyone|here)/i);
    }),
  );
});

test('content is at most 2,000 characters, however long and however escaped the message; the details stay', () => {
  for (const message of ['x'.repeat(3000), '*'.repeat(3000), `${'a'.repeat(1900)}\\`, `@everyone `.repeat(300)]) {
    const { content } = discordPayload(chatLines(item({ message })));
    assert.ok(content.length <= 2000, `content is ${content.length} characters`);
    assert.match(content, /…\*\*\nReason: connection refused\nTime: .*\nAlert id: dc-1$/);
    assert.doesNotMatch(content.split('\n')[0]!.slice(0, -3), /(^|[^\\])(\\\\)*\\…$/, 'no half escape before the cut');
  }
});

test('--discord-webhook: repeatable, discord, discord-2; the URL is a secret', async () => {
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  const opts = parseChannelOptions(discordChannel, [], { DISCORD_WEBHOOK_URL: 'https://discord.example/api/webhooks/1/x https://discord.example/api/webhooks/2/y' });
  assert.deepEqual(channelsOf(discordChannel, opts, { log }).map((c) => c.name), ['discord', 'discord-2']);
  assert.ok(secretsOf(discordChannel, opts).includes('/api/webhooks/2/y'));
});
