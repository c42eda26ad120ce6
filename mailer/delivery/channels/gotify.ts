/**
 * Gotify (a self-hosted push server): each alert, or a group of them, as one
 * message, after Gotify's message API (https://gotify.net/api-docs, POST
 * /message; https://gotify.net/docs/msgextras for extras):
 * `POST <server>/message {"title", "message", "priority", "extras":
 * {"client::display": {"contentType": "text/plain"}}}` over http-post.ts,
 * the application token in the `X-Gotify-Key` header, never in the query,
 * so that it is in no URL and no access log.
 *
 * The title is the alert's subject, the message its details, one per line.
 * Priority 8 (high: Gotify's Android app pops it up) for down, 4 (a
 * notification with sound) for up; a `priority` setting (0-10) replaces the
 * down priority, and up alerts never get more than 4. The content type is
 * text/plain, so alert text is shown as typed: no markdown, no links made of
 * it beyond a bare URL, which names its real address.
 *
 * `--notify` (shoutrrr's form): `gotify://host[:port][/path]/token`, https;
 * parameters disabletls (yes: http), priority, title (the notification's
 * title; the alert's subject then opens the message), useheader (accepted:
 * the token always goes in the header), api. Others are refused (no
 * insecureskipverify: a certificate is always checked).
 * `--config` keys: server (the URL Gotify is served at, with its sub-path),
 * token, priority, title.
 *
 * Gotify publishes no rate limit. Title cut to 250 characters, message to
 * 16,000. 408, 429 and 5xx are transient; 400, 401, 403 and other 4xx
 * permanent (http-post.ts).
 */
import { ConfigError } from '../../../shared/config.ts';
import { cut } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost } from './http-post.ts';
import { messageChannel } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams, yesNo } from './notify-url.ts';

const DOWN_PRIORITY = 8;
const UP_PRIORITY = 4;
const TITLE_MAX = 250;
const MESSAGE_MAX = 16_000;
const CONFIG_KEYS = ['server', 'token', 'priority', 'title'];

export interface GotifySettings {
  /** POST here: <server>/message. */
  url: URL;
  /** The application token (a secret). */
  token: string;
  /** Of a down alert; an up alert gets at most UP_PRIORITY. */
  priority: number;
  /** A fixed notification title (the alert's subject then opens the message). */
  title?: string;
}

/** Gotify's own check of an application token (server auth/token.go): A and 14 of [A-Za-z0-9._-]. */
export function isGotifyToken(token: string): boolean {
  return /^A[A-Za-z0-9._-]{14}$/.test(token);
}

export function gotifyPayload(settings: GotifySettings, lines: MessageLines, items: readonly QueuedAlert[]): Record<string, unknown> {
  const down = items.some((i) => i.alert.status === 'down');
  const text = settings.title === undefined ? lines.details : [lines.title, ...lines.details];
  return {
    title: cut(settings.title ?? lines.title, TITLE_MAX),
    message: cut(text.join('\n'), MESSAGE_MAX),
    priority: down ? settings.priority : Math.min(settings.priority, UP_PRIORITY),
    extras: { 'client::display': { contentType: 'text/plain' } },
  };
}

interface GotifyParts {
  base: string;
  token: string;
  priority?: string;
  title?: string;
}

function settingsOf(parts: GotifyParts, fail: (key: string, problem: string) => ConfigError): GotifySettings {
  if (!isGotifyToken(parts.token)) throw fail('token', 'expected a Gotify application token (A and 14 letters, digits, . _ or -)');
  let priority = DOWN_PRIORITY;
  if (parts.priority !== undefined) {
    if (!/^(10|[0-9])$/.test(parts.priority.trim())) throw fail('priority', 'expected 0 to 10');
    priority = Number(parts.priority.trim());
  }
  const title = parts.title?.trim();
  if (title !== undefined && (title === '' || /[\u0000-\u001f\u007f]/.test(title))) throw fail('title', 'expected one line of text');
  return { url: new URL(`${parts.base.replace(/\/+$/, '')}/message`), token: parts.token, priority, ...(title !== undefined ? { title: cut(title, TITLE_MAX) } : {}) };
}

/** shoutrrr's `gotify://host[:port][/path]/token[?…]`. */
export function gotifySettingsFromUrl(url: URL): GotifySettings {
  const fail = (key: string, problem: string) => new ConfigError(`gotify:// URL: ${key}: ${problem} (the URL is not shown).`);
  const params = notifyParams(url, ['disabletls', 'priority', 'title', 'useheader']);
  yesNo(url, params, 'useheader', true);
  if (url.hash) throw fail('path', 'no # fragment');
  if (!url.host) throw fail('host', 'expected gotify://host[:port][/path]/token');
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const token = segments.pop();
  if (token === undefined) throw fail('token', 'expected gotify://host[:port][/path]/token');
  const scheme = yesNo(url, params, 'disabletls', false) ? 'http' : 'https';
  let origin: string;
  try {
    origin = new URL(`${scheme}://${url.host}`).origin;
  } catch {
    throw fail('host', 'not a valid host[:port]');
  }
  const path = segments.map((s) => `/${s}`).join('');
  return settingsOf(
    {
      base: apiBase(url, `${origin}${path}`),
      token: decodedPart(url, token, 'token'),
      ...(params.has('priority') ? { priority: params.get('priority')! } : {}),
      ...(params.has('title') ? { title: params.get('title')! } : {}),
    },
    fail,
  );
}

/** A `--config` entry: { server, token, priority?, title? }. */
export function gotifySettingsFromConfig(entry: Readonly<Record<string, unknown>>): GotifySettings {
  const e = configEntry(entry, { kind: 'gotify', keys: CONFIG_KEYS, numbers: ['priority'] });
  const server = e.requiredText('server', 'required: the URL Gotify is served at');
  const token = e.requiredText('token', 'required: the application token');
  const base = e.baseUrl('server', server, 'the token goes in the token key');
  const priority = e.text('priority');
  const title = e.text('title');
  return settingsOf({ base, token, ...(priority !== undefined ? { priority } : {}), ...(title !== undefined ? { title } : {}) }, e.fail);
}

export const gotifyChannel = defineKind<GotifySettings>({
  kind: 'gotify',
  schemes: ['gotify'],
  urlExample: 'gotify://host/TOKEN',
  groups: true,
  fromUrl: gotifySettingsFromUrl,
  fromConfig: gotifySettingsFromConfig,
  secrets: (s) => [s.token],
  create: (settings, ctx) => {
    const http = createHttpPost({ url: settings.url, timeoutMs: ctx.httpTimeoutMs, headers: { 'x-gotify-key': settings.token } });
    return messageChannel({
      name: ctx.name,
      concurrency: http.connections,
      say: (lines, items, signal) => http.send({ body: gotifyPayload(settings, lines, items) }, signal),
      close: () => http.close(),
    });
  },
});
