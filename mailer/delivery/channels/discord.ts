/**
 * Discord webhooks (`--discord-webhook`, repeatable; DISCORD_WEBHOOK_URL a
 * list), over chat-webhook.ts and http-post.ts. Channels are named discord, discord-2, ….
 *
 * The payload is `{"content", "allowed_mentions": {"parse": []}, "flags": 4}`:
 * at most 2,000 characters (Discord's limit), the subject line in bold, then
 * reason, outage length, time and alert id, one per line; no pings, and
 * SUPPRESS_EMBEDS (flag 4) so no link preview. Alert data is not trusted (the
 * raw protocol carries no token), so discordEscape makes it inert besides:
 * every markdown character (`\ * _ ~ \` | < > [ ] ( ) #`) gets a backslash,
 * which Discord shows as the character itself, so a masked link
 * `[x](https://evil)`, `<@123>`, `<#1>`, spoilers and code show as typed; and
 * `@everyone` / `@here` get a zero-width space after the `@`, so they are
 * text even to a client that ignored allowed_mentions. Alert data is on one
 * line each, after a label, so it can start no heading, list or quote. A
 * bare URL in alert data shows as written (it names its real address).
 *
 * Discord ignores Idempotency-Key: a retried alert is a second message.
 */
import { ConfigError } from '../../../shared/config.ts';
import type { MessageLines } from '../email-content.ts';
import type { ChannelKind } from './channel.ts';
import { type ChatWebhookSpec, chatWebhookKind } from './chat-webhook.ts';
import { apiBase, decodedPart } from './notify-url.ts';

const DISCORD_CONTENT_MAX = 2000;
/** Message flag SUPPRESS_EMBEDS: no link previews. */
const SUPPRESS_EMBEDS = 1 << 2;

/** Alert data as inert Discord text: markdown characters backslashed, @everyone and @here broken. */
export function discordEscape(text: string): string {
  return text.replace(/[\\*_~`|<>[\]()#]/g, '\\$&').replace(/@(everyone|here)/gi, '@\u200b$1');
}

export interface DiscordPayload {
  content: string;
  allowed_mentions: { parse: [] };
  flags: number;
}

export function discordPayload({ title, details }: MessageLines): DiscordPayload {
  const lines = [`**${discordEscape(title)}**`, ...details.map(discordEscape)];
  let content = lines.join('\n');
  if (content.length > DISCORD_CONTENT_MAX) {
    // Cut the title (it holds the message) so the details and the closing ** stay.
    const rest = details.map(discordEscape).join('\n');
    const room = Math.max(0, DISCORD_CONTENT_MAX - rest.length - 6);
    let cut = discordEscape(title).slice(0, room);
    if (/(^|[^\\])(\\\\)*\\$/.test(cut)) cut = cut.slice(0, -1); // never end on half an escape
    content = `**${cut}…**\n${rest}`.slice(0, DISCORD_CONTENT_MAX);
  }
  return { content, allowed_mentions: { parse: [] }, flags: SUPPRESS_EMBEDS };
}

const DISCORD: ChatWebhookSpec = {
  kind: 'discord',
  flag: '--discord-webhook',
  env: 'DISCORD_WEBHOOK_URL',
  key: 'discordWebhook',
  description: 'post each alert to this Discord webhook (repeatable, or a list)',
  payload: discordPayload,
  // Discord: 5 requests per 2 s per webhook; its X-RateLimit-* headers pause it besides (http-post.ts).
  rateLimit: { count: 5, perMs: 2000 },
  fromNotify: discordWebhookOf,
  urlExample: 'discord://TOKEN@WEBHOOK_ID',
};

/** shoutrrr's Discord form `discord://token@id`: https://discord.com/api/webhooks/id/token (`api` replaces https://discord.com). */
export function discordWebhookOf(url: URL): URL {
  const token = decodedPart(url, url.username, 'token');
  const id = url.hostname;
  if (!/^\d+$/.test(id) || !/^[A-Za-z0-9_-]+$/.test(token)) throw new ConfigError('discord:// URL: expected discord://token@webhook-id (the URL is not shown: it holds a token).');
  const base = apiBase(url, 'https://discord.com');
  return new URL(`${base}/api/webhooks/${id}/${token}`);
}

export const discordChannel: ChannelKind = chatWebhookKind(DISCORD);
