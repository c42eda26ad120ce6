/**
 * ntfy (ntfy.sh or a self-hosted server): each alert, or a group of them, as
 * one push notification, published as JSON to the server's root after ntfy's
 * "Publish as JSON" (https://docs.ntfy.sh/publish/#publish-as-json):
 * `POST <server>/ {"topic", "title", "message", "priority", "tags",
 * "markdown": false[, "click", "icon"]}` over http-post.ts.
 *
 * The title is the alert's subject, the message its details, one per line;
 * tags `rotating_light` (down, reminders, a group with a down alert) or
 * `white_check_mark` (up) show as emoji. Priority 4 (high: a pop-over
 * notification) for down, 3 (default) for up; a `priority` setting replaces
 * the down priority, and up alerts never get more than 3 (`priority=1` makes
 * both quiet). Alert text is not trusted: markdown stays off and templating
 * is never asked for, so it shows as typed (a bare URL in it may be made
 * clickable, naming its real address).
 *
 * Auth: `Authorization: Basic` for user:password, `Bearer` for an access
 * token (tk_…). Without auth the topic is the only secret (ntfy: "the topic
 * is essentially a password"), so it is kept out of logs too.
 *
 * `--notify` (shoutrrr's form): `ntfy://[user:password@]host[:port]/topic`,
 * https; `ntfy://:tk_…@host/topic` or `?token=tk_…` for a token; no host:
 * ntfy.sh. Parameters: scheme (http/https), disabletls (yes: http), token,
 * priority (1-5, min, low, default, high, max, urgent), tags (a list), title
 * (the notification's title; the alert's subject then opens the message),
 * click, icon (URLs), cache and firebase (no: X-Cache / X-Firebase: no),
 * markdown (only no), api. Others are refused.
 * `--config` keys: server (URL, default https://ntfy.sh), topic, token or
 * user + password, priority, tags (a list), title, click, icon, cache, firebase.
 *
 * Rate limit: ntfy.sh (and ntfy's defaults for a self-hosted server) allow a
 * visitor a burst of 60 requests, then one per 5 s. The channel takes half
 * the burst at that pace ({30 per 150 s}), leaving room for other clients on
 * the same address; a 429 without Retry-After waits 5 s (one token back). A
 * message is cut to ntfy's 4,096 bytes (beyond it ntfy.sh makes it an
 * attachment), the title to 250 characters. 429 and 5xx are transient,
 * other 4xx permanent (http-post.ts).
 */
import { ConfigError } from '../../../shared/config.ts';
import { transient } from '../../../shared/send-result.ts';
import { cut } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost } from './http-post.ts';
import { messageChannel } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams, yesNo } from './notify-url.ts';

const DEFAULT_SERVER = 'https://ntfy.sh';
const DOWN_PRIORITY = 4;
const UP_PRIORITY = 3;
const MESSAGE_MAX_BYTES = 4096;
const TITLE_MAX = 250;
/** ntfy's limiter gives a visitor one request back every 5 s. */
const LIMITED_WAIT_MS = 5_000;
const PRIORITY_NAMES: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };
const CONFIG_KEYS = ['server', 'topic', 'token', 'user', 'password', 'priority', 'tags', 'title', 'click', 'icon', 'cache', 'firebase'];

export interface NtfySettings {
  /** The server's root (https://ntfy.sh/), where JSON is published. */
  server: URL;
  topic: string;
  /** The Authorization header, when the topic needs one. */
  authorization?: string;
  /** The password or token as given (a secret). */
  credential?: string;
  /** Of a down alert; an up alert gets at most UP_PRIORITY. */
  priority: number;
  /** Besides the status tag. */
  tags: string[];
  /** A fixed notification title (the alert's subject then opens the message). */
  title?: string;
  click?: string;
  icon?: string;
  cache: boolean;
  firebase: boolean;
}

/** What a URL or a config entry gives, before it is checked. */
interface NtfyParts {
  server: string;
  topic: string;
  user?: string;
  password?: string;
  token?: string;
  priority?: string;
  tags?: string[];
  title?: string;
  click?: string;
  icon?: string;
  cache: boolean;
  firebase: boolean;
}

/** The UTF-8 form of `text` at most `max` bytes long (cut, an ellipsis marking the cut). */
export function cutBytes(text: string, max: number): string {
  let out = text;
  // A UTF-16 unit is 3 bytes at most, so dropping a third of the excess (in units) never cuts too much.
  for (let n = text.length; Buffer.byteLength(out) > max; out = cut(text, n)) n -= Math.max(1, Math.ceil((Buffer.byteLength(out) - max) / 3));
  return out;
}

export function ntfyPayload(settings: NtfySettings, lines: MessageLines, items: readonly QueuedAlert[]): Record<string, unknown> {
  const down = items.some((i) => i.alert.status === 'down');
  const text = settings.title === undefined ? lines.details : [lines.title, ...lines.details];
  return {
    topic: settings.topic,
    title: cut(settings.title ?? lines.title, TITLE_MAX),
    message: cutBytes(text.join('\n'), MESSAGE_MAX_BYTES),
    priority: down ? settings.priority : Math.min(settings.priority, UP_PRIORITY),
    tags: [down ? 'rotating_light' : 'white_check_mark', ...settings.tags],
    markdown: false,
    ...(settings.click !== undefined ? { click: settings.click } : {}),
    ...(settings.icon !== undefined ? { icon: settings.icon } : {}),
  };
}

function httpUrl(text: string, key: string, fail: (key: string, problem: string) => ConfigError): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail(key, 'expected an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(key, 'expected an http:// or https:// URL');
  return url.href;
}

/** Checks every part; `fail` words the error for a URL or a config entry. */
function settingsOf(parts: NtfyParts, fail: (key: string, problem: string) => ConfigError): NtfySettings {
  if (!/^[-_A-Za-z0-9]{1,64}$/.test(parts.topic)) throw fail('topic', 'expected 1 to 64 letters, digits, - or _');
  let authorization: string | undefined;
  let credential: string | undefined;
  const { user, password, token } = parts;
  if (token !== undefined && (user || password)) throw fail('token', 'give a token or user and password, not both');
  if (token !== undefined || (!user && password)) {
    credential = token ?? password!;
    if (!/^[\x21-\x7e]+$/.test(credential)) throw fail('token', 'expected visible ASCII characters, no spaces');
    authorization = `Bearer ${credential}`;
  } else if (user) {
    if (!password) throw fail('password', 'a user needs a password (or give a token)');
    if (user.includes(':') || /[\u0000-\u001f\u007f]/.test(user + password)) throw fail('user', 'must hold no colon or control character');
    credential = password;
    authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }
  let priority = DOWN_PRIORITY;
  if (parts.priority !== undefined) {
    const p = parts.priority.trim().toLowerCase();
    priority = /^[1-5]$/.test(p) ? Number(p) : (PRIORITY_NAMES[p] ?? 0);
    if (priority === 0) throw fail('priority', 'expected 1 to 5, min, low, default, high, max or urgent');
  }
  const tags = (parts.tags ?? []).map((t) => t.trim()).filter((t) => t !== '');
  if (tags.length > 10 || tags.some((t) => !/^[^\s,]{1,64}$/.test(t))) throw fail('tags', 'expected at most 10 tags of 1 to 64 characters, no spaces');
  const title = parts.title?.trim();
  if (title !== undefined && (title === '' || /[\u0000-\u001f\u007f]/.test(title))) throw fail('title', 'expected one line of text');
  return {
    server: new URL(`${parts.server.replace(/\/+$/, '')}/`),
    topic: parts.topic,
    ...(authorization !== undefined ? { authorization, credential: credential! } : {}),
    priority,
    tags,
    ...(title !== undefined ? { title: cut(title, TITLE_MAX) } : {}),
    ...(parts.click !== undefined ? { click: httpUrl(parts.click, 'click', fail) } : {}),
    ...(parts.icon !== undefined ? { icon: httpUrl(parts.icon, 'icon', fail) } : {}),
    cache: parts.cache,
    firebase: parts.firebase,
  };
}

/** shoutrrr's `ntfy://[user:password@]host[:port]/topic[?…]`. */
export function ntfySettingsFromUrl(url: URL): NtfySettings {
  const fail = (key: string, problem: string) => new ConfigError(`ntfy:// URL: ${key}: ${problem} (the URL is not shown).`);
  const params = notifyParams(url, ['scheme', 'disabletls', 'token', 'priority', 'tags', 'title', 'click', 'icon', 'cache', 'firebase', 'markdown']);
  if (yesNo(url, params, 'markdown', false)) throw fail('markdown', 'only no: alert text is not trusted, it must not format');
  if (url.hash) throw fail('topic', 'a # must be written %23');
  const scheme = (params.get('scheme') ?? 'https').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw fail('scheme', 'expected http or https');
  const disableTls = yesNo(url, params, 'disabletls', false);
  if (disableTls && params.get('scheme')?.toLowerCase() === 'https') throw fail('disabletls', 'conflicts with scheme=https');
  let origin: string;
  try {
    origin = new URL(`${disableTls ? 'http' : scheme}://${url.host || 'ntfy.sh'}`).origin;
  } catch {
    throw fail('host', 'not a valid host[:port]');
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (segments.length !== 1) throw fail('topic', 'expected ntfy://[user:password@]host[:port]/topic');
  const user = decodedPart(url, url.username, 'user');
  const password = decodedPart(url, url.password, 'password');
  return settingsOf(
    {
      server: apiBase(url, origin),
      topic: decodedPart(url, segments[0]!, 'topic'),
      ...(user ? { user } : {}),
      ...(password ? { password } : {}),
      ...(params.has('token') ? { token: params.get('token')! } : {}),
      ...(params.has('priority') ? { priority: params.get('priority')! } : {}),
      ...(params.has('tags') ? { tags: params.get('tags')!.split(',') } : {}),
      ...(params.has('title') ? { title: params.get('title')! } : {}),
      ...(params.has('click') ? { click: params.get('click')! } : {}),
      ...(params.has('icon') ? { icon: params.get('icon')! } : {}),
      cache: yesNo(url, params, 'cache', true),
      firebase: yesNo(url, params, 'firebase', true),
    },
    fail,
  );
}

/** A `--config` entry: { server?, topic, token? | user? + password?, priority?, tags?, title?, click?, icon?, cache?, firebase? }. */
export function ntfySettingsFromConfig(entry: Readonly<Record<string, unknown>>): NtfySettings {
  const e = configEntry(entry, { kind: 'ntfy', keys: CONFIG_KEYS, numbers: ['priority'] });
  const tags = e.list('tags', 'expected a list of strings');
  const topic = e.requiredText('topic', 'required');
  const server = e.baseUrl('server', e.text('server') ?? DEFAULT_SERVER, 'give user, password or token as keys');
  const opt = (key: string) => (e.text(key) === undefined ? {} : { [key]: e.text(key) });
  return settingsOf(
    {
      server,
      topic,
      ...opt('user'),
      ...opt('password'),
      ...opt('token'),
      ...opt('priority'),
      ...(tags !== undefined ? { tags } : {}),
      ...opt('title'),
      ...opt('click'),
      ...opt('icon'),
      cache: e.flag('cache', true),
      firebase: e.flag('firebase', true),
    },
    e.fail,
  );
}

export const ntfyChannel = defineKind<NtfySettings>({
  kind: 'ntfy',
  schemes: ['ntfy'],
  urlExample: 'ntfy://host/topic',
  groups: true,
  fromUrl: ntfySettingsFromUrl,
  fromConfig: ntfySettingsFromConfig,
  secrets: (s) =>
    s.authorization === undefined ? [s.topic] : [s.credential!, s.authorization, s.authorization.replace(/^\S+ /, '')],
  create: (settings, ctx) => {
    const headers: Record<string, string> = {
      ...(settings.authorization !== undefined ? { authorization: settings.authorization } : {}),
      ...(settings.cache ? {} : { 'x-cache': 'no' }),
      ...(settings.firebase ? {} : { 'x-firebase': 'no' }),
    };
    const http = createHttpPost({ url: settings.server, timeoutMs: ctx.httpTimeoutMs, headers });
    return messageChannel({
      name: ctx.name,
      concurrency: http.connections,
      rateLimit: { count: 30, perMs: 150_000 },
      say: async (lines, items, signal) => {
        let limited = false;
        const result = await http.send(
          {
            body: ntfyPayload(settings, lines, items),
            refusal: (status) => {
              limited = status === 429;
              return undefined;
            },
          },
          signal,
        );
        return limited && !result.ok && result.retryAfterMs === undefined ? transient(result.error, LIMITED_WAIT_MS) : result;
      },
      close: () => http.close(),
    });
  },
});
