/**
 * Google Chat incoming webhooks (developers.google.com/workspace/chat,
 * "Build a Google Chat app as a webhook", "Start or reply to a message
 * thread"): each alert, or a group of them, is one JSON POST over
 * http-post.ts to the space's webhook URL
 * `https://chat.googleapis.com/v1/spaces/<space>/messages?key=<key>&token=<token>`
 * with `&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD` added, of
 * `{"text", "thread": {"threadKey"}}`. The threadKey is the alert's incident
 * (alert.incident ?? target ?? id; a key over 4,000 characters becomes its
 * SHA-256), so a down, its reminders and its up share one thread, and the
 * first of them starts it. A group whose alerts are all of one incident goes
 * to its thread; a group of several incidents is a new thread of its own
 * (no threadKey): putting it in one incident's thread would hide the others.
 * (The `threadKey` query parameter is deprecated; the body's thread is what
 * Google documents now.)
 *
 * The text is the subject, then reason, outage, time and alert id, one per
 * line, within Chat's 4,096 characters (a big group ends in "… and N more
 * alerts"). Google Chat's text markup (format-messages: *bold*, _italic_,
 * ~strike~, `code`, ```blocks```, <url|text> links, <users/…> and
 * <users/all> mentions) has no escape character, so alert data is made inert
 * this way: & < > become the entities &amp; &lt; &gt; (so it can open no
 * link and mention nobody), and every * _ ~ ` gets a zero-width space on
 * each side. A span opens at a marker with a space (or the start) before it
 * and a non-space after it, and closes mirror-wise; fenced so, a marker fails
 * one side whichever way Chat reads that space (as a space: the inner side;
 * as a letter: the outer side), so it neither opens nor closes one. The title
 * is not made bold for the same reason (a closing * after a fenced marker
 * might not close). A bare URL in alert data shows as written (Chat makes it
 * clickable, naming its real address).
 *
 * `--notify` (shoutrrr's form): `googlechat://chat.googleapis.com/v1/spaces/<space>/messages?key=<key>&token=<token>`,
 * the webhook URL with https replaced by googlechat (shoutrrr's deprecated
 * `hangouts://` too); `api` replaces https://chat.googleapis.com. Other
 * parameters are refused. `--config` keys: url (the webhook URL).
 * The key and the token are secrets: in no error text and no log line.
 *
 * Rate limit: Google documents 60 message writes a minute per space, taken as
 * one a second ({1 per 1000 ms}); 429 (RESOURCE_EXHAUSTED) and 5xx are
 * transient (Retry-After honoured), other refusals (400, 401, 403, 404)
 * permanent. A retried alert is a second message (Google Chat does not
 * dedupe webhook posts), in the same thread.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../../shared/config.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { MessageLines } from '../email-content.ts';
import { defineKind } from './channel.ts';
import { webhookMessageChannel } from './chat-webhook.ts';
import { urlSecrets, webhookUrl } from './http-post.ts';
import { configEntry } from './config-entry.ts';
import { fitLines } from './message-channel.ts';
import { apiBase, notifyParams, schemeOf } from './notify-url.ts';

/** Characters of text at most: Google Chat takes 4,096. */
const TEXT_MAX = 4096;
const THREAD_KEY_MAX = 4000;
const REPLY_OPTION = 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD';
const SPACE_PATH = /^\/v1\/spaces\/([A-Za-z0-9_-]+)\/messages$/;

export interface GoogleChatSettings {
  /** The webhook URL, messageReplyOption included. */
  url: URL;
}

/** Alert text as inert Google Chat text: & < > as entities, * _ ~ ` fenced by zero-width spaces. */
export function googleChatEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/[*_~`]/g, '\u200b$&\u200b');
}

/** The message text: the subject, then a line per detail, within Chat's 4,096 characters. */
export function googleChatText(lines: MessageLines): string {
  // Room for the closing "… and N more alerts" line.
  return fitLines(lines, { escape: googleChatEscape, max: TEXT_MAX - 40 }).join('\n');
}

/** An alert's thread: its incident, else its target, else its id. */
export function threadKey(alert: QueuedAlert['alert']): string {
  const key = alert.incident ?? alert.target ?? alert.id;
  return key.length <= THREAD_KEY_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function googleChatPayload(lines: MessageLines, items: readonly QueuedAlert[]): { text: string; thread?: { threadKey: string } } {
  const keys = new Set(items.map((i) => threadKey(i.alert)));
  const text = googleChatText(lines);
  return keys.size === 1 ? { text, thread: { threadKey: [...keys][0]! } } : { text };
}

/** The webhook URL with `api` in place of https://chat.googleapis.com, and the reply option. */
function webhookOf(base: string, space: string, key: string, token: string): URL {
  const url = new URL(`${base}/v1/spaces/${space}/messages`);
  url.searchParams.set('key', key);
  url.searchParams.set('token', token);
  url.searchParams.set('messageReplyOption', REPLY_OPTION);
  return url;
}

function parts(url: URL, where: string): { space: string; key: string; token: string } {
  const space = SPACE_PATH.exec(url.pathname)?.[1];
  const key = url.searchParams.get('key');
  const token = url.searchParams.get('token');
  if (!space || !key || !token) {
    throw new ConfigError(`${where}: expected …/v1/spaces/<space>/messages?key=<key>&token=<token>, the space's webhook URL (the URL is not shown: it holds secrets).`);
  }
  return { space, key, token };
}

/** `googlechat://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=…[&api=…]` (or hangouts://). */
export function googleChatFromUrl(url: URL): GoogleChatSettings {
  const where = `${schemeOf(url)}:// URL`;
  notifyParams(url, ['key', 'token']);
  if (url.username || url.password || !url.hostname) throw new ConfigError(`${where}: expected ${schemeOf(url)}://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=… (the URL is not shown: it holds secrets).`);
  const { space, key, token } = parts(new URL(`https://${url.host}${url.pathname}${url.search}`), where);
  return { url: webhookOf(apiBase(url, `https://${url.host}`), space, key, token) };
}

/** The webhook URL, its path and query, its key and its token. */
export function googleChatSecrets(s: GoogleChatSettings): string[] {
  return [...urlSecrets([s.url]), ...['key', 'token'].map((k) => s.url.searchParams.get(k)!).filter((v) => v.length >= 8)];
}

/** A `--config` entry: `{ url }`, the space's webhook URL. */
export function googleChatFromConfig(entry: Readonly<Record<string, unknown>>): GoogleChatSettings {
  const expected = 'expected the space\'s webhook URL as a string';
  const text = configEntry(entry, { kind: 'googlechat', keys: ['url'] }).requiredText('url', expected, expected);
  const url = webhookUrl(text, { flag: 'url', env: 'googlechat channel' });
  for (const name of url.searchParams.keys()) {
    if (!['key', 'token', 'messageReplyOption', 'threadKey'].includes(name)) throw new ConfigError(`url: unknown query parameter ${JSON.stringify(name.slice(0, 40))}; a webhook URL has key and token.`);
  }
  const { space, key, token } = parts(url, 'url');
  return { url: webhookOf(url.origin, space, key, token) };
}

export const googleChatChannel = defineKind<GoogleChatSettings>({
  kind: 'googlechat',
  groups: true,
  schemes: ['googlechat', 'hangouts'],
  urlExample: 'googlechat://chat.googleapis.com/v1/spaces/SPACE/messages?key=KEY&token=TOKEN',
  fromUrl: googleChatFromUrl,
  fromConfig: googleChatFromConfig,
  secrets: (s) => googleChatSecrets(s),
  create: (s, ctx) =>
    webhookMessageChannel(s.url, ctx, {
      // Google Chat: 60 message writes a minute per space.
      rateLimit: { count: 1, perMs: 1000 },
      payload: (lines, items) => googleChatPayload(lines, items),
      secrets: googleChatSecrets(s),
    }),
});
