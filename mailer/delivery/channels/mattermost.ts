/**
 * Mattermost incoming webhooks (docs.mattermost.com, "Incoming webhooks"):
 * each alert, or a group of them, is one JSON POST to
 * `<scheme>://<host>[:port]/hooks/<token>` over http-post.ts: `{"text"[,
 * "username"][, "channel"][, "icon_url" | "icon_emoji"]}`. The text is the
 * subject in bold, then reason, outage, time and alert id, one per line (a
 * big group ends in "… and N more alerts", within Mattermost's 16,383
 * characters a post). Mattermost answers 200 "ok".
 *
 * Mattermost's text is markdown, and it mentions (@user, @channel, @all,
 * @here notify people), links ~channels and #hashtags, all found in the
 * rendered text. Alert data is not trusted, so mattermostEscape makes it
 * inert: a backslash before every character that can open markdown (`\ * _
 * \` [ ] ( ) < > | ! $ & ~`), which Mattermost shows as the character itself,
 * so no masked link, image, emphasis, code, table, inline LaTeX or entity;
 * and a zero-width space after every `@`, `~` and `#`, so no mention, no
 * channel link and no hashtag (the server's mention parser splits words at
 * it too). Alert data is on one line each, after a label, so it can start no
 * heading, list or quote. A bare URL in alert data shows as written
 * (Mattermost may make it clickable, naming its real address).
 *
 * `--notify` (shoutrrr's form):
 * `mattermost://[username@]host[:port]/token[/channel][?icon=…][&disabletls=yes]`:
 * https://host[:port]/hooks/token (disabletls=yes: http). username and channel
 * override the webhook's own (where the webhook allows it); icon is an emoji
 * name (icon_emoji) or an http(s) URL (icon_url); icon_emoji and icon_url
 * are taken as shoutrrr takes them. `api` replaces scheme://host[:port]
 * (e.g. a server under a path: https://example.com/mattermost). `title` is
 * refused: the post's title is the alert's subject.
 * `--config` keys: url (the webhook URL), and optionally username, channel, icon.
 * The token is a secret: in no error text and no log line.
 *
 * Rate limit: a Mattermost server's default API rate limit, 10 requests a
 * second; 429 and 5xx are transient (Retry-After honoured), other refusals
 * (400 an invalid webhook or channel, 403 webhooks disabled) permanent.
 * Mattermost ignores Idempotency-Key: a retried alert is a second post.
 */
import { ConfigError } from '../../../shared/config.ts';
import type { MessageLines } from '../email-content.ts';
import { defineKind } from './channel.ts';
import { webhookMessageChannel } from './chat-webhook.ts';
import { urlSecrets, webhookUrl } from './http-post.ts';
import { configEntry } from './config-entry.ts';
import { fitLines } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams, yesNo } from './notify-url.ts';

/** Characters of a post at most: Mattermost takes 16,383. */
const TEXT_MAX = 16_000;
const TOKEN = /^[A-Za-z0-9]+$/;
/** A channel name (or @user for a direct message), a username, an emoji name: one word. */
const NAME = /^@?[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CONFIG_KEYS = ['url', 'username', 'channel', 'icon'];

export interface MattermostSettings {
  /** <scheme>://<host>[:port]/hooks/<token>. */
  url: URL;
  username?: string;
  channel?: string;
  /** An emoji name, or an http(s) URL of an image. */
  icon?: string;
}

/** Alert text as inert Mattermost markdown: markdown characters backslashed; @, ~ and # broken by a zero-width space. */
export function mattermostEscape(text: string): string {
  return text.replace(/[\\*_`[\]()<>|!$&~]/g, '\\$&').replace(/[@~#]/g, '$&\u200b');
}

/** The post's text: the subject in bold, then a line per detail, within Mattermost's limit. */
export function mattermostText(lines: MessageLines): string {
  // Room for the closing "… and N more alerts" line.
  return fitLines(lines, { escape: mattermostEscape, frame: (title) => `**${title}**`, max: TEXT_MAX - 40 }).join('\n');
}

export function mattermostPayload(s: MattermostSettings, lines: MessageLines): Record<string, string> {
  const icon: Record<string, string> = s.icon === undefined ? {} : /^https?:\/\//i.test(s.icon) ? { icon_url: s.icon } : { icon_emoji: s.icon };
  return {
    text: mattermostText(lines),
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.channel !== undefined ? { channel: s.channel } : {}),
    ...icon,
  };
}

function nameOf(value: unknown, where: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) throw new ConfigError(`${where}: expected one word of letters, digits, '.', '_' or '-' (at most 64).`);
  return value;
}

function iconOf(value: unknown, where: string): string {
  if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
    try {
      return new URL(value).href;
    } catch {
      // Falls through to the error.
    }
  } else if (typeof value === 'string' && /^[a-z0-9_+-]{1,64}$/i.test(value)) return value;
  throw new ConfigError(`${where}: expected an emoji name (e.g. rotating_light) or an http(s) URL of an image.`);
}

/** `mattermost://[username@]host[:port]/token[/channel][?icon=…&disabletls=yes&api=…]`. */
export function mattermostFromUrl(url: URL): MattermostSettings {
  const where = 'mattermost:// URL';
  const params = notifyParams(url, ['icon', 'icon_emoji', 'icon_url', 'disabletls']);
  if (url.password) throw new ConfigError(`${where}: expected [username@]host/token; a password is not used (the URL is not shown: it holds the token).`);
  if (!url.hostname) throw new ConfigError(`${where}: expected mattermost://[username@]host[:port]/token[/channel] (the URL is not shown: it holds the token).`);
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts.length < 1 || parts.length > 2) throw new ConfigError(`${where}: expected the path /token or /token/channel (the URL is not shown: it holds the token).`);
  const token = decodedPart(url, parts[0]!, 'token');
  if (!TOKEN.test(token)) throw new ConfigError(`${where}: the token is the webhook's id, letters and digits (the value is not shown: it is a secret).`);
  const icons = ['icon', 'icon_emoji', 'icon_url'].filter((k) => params.has(k));
  if (icons.length > 1) throw new ConfigError(`${where}: give one of icon, icon_emoji, icon_url.`);
  const scheme = yesNo(url, params, 'disabletls', false) ? 'http' : 'https';
  const base = apiBase(url, `${scheme}://${url.host}`);
  const settings: MattermostSettings = { url: new URL(`${base}/hooks/${token}`) };
  if (url.username) settings.username = nameOf(decodedPart(url, url.username, 'username'), `${where}: the username`);
  if (parts[1] !== undefined) settings.channel = nameOf(decodedPart(url, parts[1], 'channel'), `${where}: the channel`);
  if (icons.length === 1) settings.icon = iconOf(params.get(icons[0]!), `${where}: ${icons[0]}`);
  return settings;
}

/** The webhook URL, its path, and the token. */
export function mattermostSecrets(s: MattermostSettings): string[] {
  return [...urlSecrets([s.url]), s.url.pathname.slice(s.url.pathname.lastIndexOf('/') + 1)];
}

/** A `--config` entry: `{ url, username?, channel?, icon? }`. */
export function mattermostFromConfig(entry: Readonly<Record<string, unknown>>): MattermostSettings {
  const expected = 'expected the incoming webhook URL (https://host/hooks/<token>) as a string';
  const text = configEntry(entry, { kind: 'mattermost', keys: CONFIG_KEYS }).requiredText('url', expected, expected);
  const url = webhookUrl(text, { flag: 'url', env: 'mattermost channel' });
  if (!/\/hooks\/[A-Za-z0-9]+$/.test(url.pathname)) throw new ConfigError('url: expected an incoming webhook URL ending in /hooks/<token> (the value is not shown: it holds the token).');
  const settings: MattermostSettings = { url };
  if (entry.username !== undefined) settings.username = nameOf(entry.username, 'username');
  if (entry.channel !== undefined) settings.channel = nameOf(entry.channel, 'channel');
  if (entry.icon !== undefined) settings.icon = iconOf(entry.icon, 'icon');
  return settings;
}

export const mattermostChannel = defineKind<MattermostSettings>({
  kind: 'mattermost',
  groups: true,
  schemes: ['mattermost'],
  urlExample: 'mattermost://host/TOKEN',
  fromUrl: mattermostFromUrl,
  fromConfig: mattermostFromConfig,
  secrets: (s) => mattermostSecrets(s),
  create: (s, ctx) =>
    webhookMessageChannel(s.url, ctx, {
      // Mattermost's default server rate limit: 10 requests a second.
      rateLimit: { count: 10, perMs: 1000 },
      payload: (lines) => mattermostPayload(s, lines),
      secrets: mattermostSecrets(s),
    }),
});
