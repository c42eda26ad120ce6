/**
 * Matrix: each alert, or a group of them, as one text message in each
 * configured room, after the client-server API's "send a message event"
 * (https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid):
 * `PUT <homeserver>/_matrix/client/v3/rooms/<roomId>/send/m.room.message/<txnId>`
 * with `Authorization: Bearer <access token>` and `{"msgtype": "m.text",
 * "body", "m.mentions": {}}`, over http-post.ts.
 *
 * Idempotent: the transaction id is derived from the alert id (a group's
 * from idempotencyKey of its members) and the room, so a retry, even after a
 * restart, reuses it and the homeserver answers with the event it already
 * made instead of posting twice (for as long as it keeps transaction ids).
 * Several rooms: one send posts to each in turn and stops at the first
 * failure; the retry posts again to all, and the rooms already done
 * de-duplicate.
 *
 * The body is plain text only (no formatted_body): the alert's subject, then
 * its details, one per line. Alert data is not trusted, so it can neither
 * format nor mention: clients show `body` as typed (a bare URL may be made
 * clickable, naming its real address); `m.mentions: {}` says the message
 * mentions no one, which turns off the homeserver's mention rules for it
 * (spec v1.7, intentional mentions); and `@room` gets a word joiner after
 * the `@` (matrixEscape), so it pings no room even where those older rules
 * still apply. The body is cut to 16,000 characters (events are at most
 * 64 KiB).
 *
 * Answers: 429 M_LIMIT_EXCEEDED is transient after its `retry_after_ms` (or
 * Retry-After); 401, 403, 404 (M_UNKNOWN_TOKEN, M_FORBIDDEN, an unknown
 * room) and other 4xx are permanent; 5xx transient.
 *
 * `--notify` (shoutrrr's form, the access-token variant):
 * `matrix://:<access-token>@host[:port]/?rooms=!roomID1[,!roomID2]`, https;
 * parameters rooms (or room), disableTLS (yes: http), title (a first line),
 * api. A user and password are refused: this channel does not log in, give
 * an access token (Element: Settings → Help & About → Access token). Room
 * aliases (#alias:server, or a bare name, which shoutrrr reads as one) are
 * refused: give room ids (Element: Room settings → Advanced). The host is
 * the client API's, not a server name behind .well-known delegation.
 * `--config` keys: homeserver (URL), token, rooms (a list), title.
 *
 * Rate limit: Synapse's default for sending messages is 0.2 a second per
 * user with a burst of 10 (rc_message); a send costs one message per room,
 * so the channel takes {10 / rooms per 50 s × rooms}: 0.2 room messages a
 * second. The homeserver's 429 paces it besides.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../../shared/config.ts';
import { type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { cut } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { RateLimit } from './channel.ts';
import { defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost } from './http-post.ts';
import { idempotencyKey, messageChannel } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams, yesNo } from './notify-url.ts';

const BODY_MAX = 16_000;
/** Synapse's default rc_message: 0.2 messages a second, a burst of 10. */
const MESSAGES_BURST = 10;
const MS_PER_MESSAGE = 5_000;
const RETRY_AFTER_MAX_MS = 3_600_000;
const CONFIG_KEYS = ['homeserver', 'token', 'rooms', 'title'];

export interface MatrixSettings {
  /** The client API's root: https://matrix.example.org/. */
  homeserver: URL;
  /** The access token (a secret). */
  token: string;
  /** Room ids (!…), posted to in this order. */
  rooms: string[];
  /** A first line before the alert's subject. */
  title?: string;
}

/** `@room` made inert (a word joiner after the @): it pings no room, and reads the same. */
export function matrixEscape(text: string): string {
  return text.replace(/@(?=room)/gi, '@\u2060');
}

export function matrixBody(settings: Pick<MatrixSettings, 'title'>, lines: MessageLines): { msgtype: 'm.text'; body: string; 'm.mentions': Record<string, never> } {
  const text = [...(settings.title !== undefined ? [settings.title] : []), lines.title, ...lines.details].join('\n');
  return { msgtype: 'm.text', body: matrixEscape(cut(text, BODY_MAX)), 'm.mentions': {} };
}

/** The same transaction id for the same message to the same room on every retry. */
export function matrixTxnId(items: readonly QueuedAlert[], room: string): string {
  return `ch2-${createHash('sha256').update(`${idempotencyKey(items)}\n${room}`).digest('hex').slice(0, 32)}`;
}

/** The homeserver's `retry_after_ms` of an M_LIMIT_EXCEEDED answer; else the default verdict (Retry-After). */
export function matrixRefusal(status: number, body: string, error: string): SendResult | undefined {
  let parsed: { errcode?: unknown; retry_after_ms?: unknown } | null;
  try {
    parsed = JSON.parse(body) as { errcode?: unknown; retry_after_ms?: unknown } | null;
  } catch {
    return undefined;
  }
  const ms = parsed?.retry_after_ms;
  if ((status === 429 || parsed?.errcode === 'M_LIMIT_EXCEEDED') && typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) {
    return transient(error, Math.min(Math.ceil(ms), RETRY_AFTER_MAX_MS));
  }
  return undefined;
}

/** Synapse's rc_message spread over the rooms one send posts to. */
export function matrixRateLimit(rooms: number): RateLimit {
  const count = Math.max(1, Math.floor(MESSAGES_BURST / rooms));
  return { count, perMs: count * rooms * MS_PER_MESSAGE };
}

interface MatrixParts {
  base: string;
  token: string;
  rooms: string[];
  title?: string;
}

function settingsOf(parts: MatrixParts, fail: (key: string, problem: string) => ConfigError): MatrixSettings {
  if (!/^[\x21-\x7e]+$/.test(parts.token)) throw fail('token', 'expected an access token of visible ASCII characters');
  const rooms = parts.rooms.map((r) => r.trim()).filter((r) => r !== '');
  if (rooms.length === 0) throw fail('rooms', 'required: the ids of the rooms to post to (!…)');
  for (const room of rooms) {
    if (!room.startsWith('!')) {
      throw fail('rooms', 'room aliases (#alias:server, or a bare name) are not supported: give room ids, !…:server (Element: Room settings → Advanced)');
    }
    if (!/^![\x21-\x7e]{1,254}$/.test(room)) throw fail('rooms', 'a room id is ! and visible ASCII characters');
  }
  if (new Set(rooms).size !== rooms.length) throw fail('rooms', 'the same room is given twice');
  const title = parts.title?.trim();
  if (title !== undefined && (title === '' || /[\u0000-\u001f\u007f]/.test(title))) throw fail('title', 'expected one line of text');
  return { homeserver: new URL(`${parts.base.replace(/\/+$/, '')}/`), token: parts.token, rooms, ...(title !== undefined ? { title } : {}) };
}

/** shoutrrr's `matrix://:<access-token>@host[:port]/?rooms=!a:server[,!b:server]`. */
export function matrixSettingsFromUrl(url: URL): MatrixSettings {
  const fail = (key: string, problem: string) => new ConfigError(`matrix:// URL: ${key}: ${problem} (the URL is not shown).`);
  const params = notifyParams(url, ['rooms', 'room', 'disabletls', 'title']);
  if (url.hash) throw fail('rooms', 'room aliases (#…) are not supported: give room ids, !…:server (Element: Room settings → Advanced)');
  if (url.username) {
    throw fail('user', 'logging in with a user and password is not supported; give an access token as the password and no user: matrix://:<access-token>@host/?rooms=!room:server');
  }
  if (!url.password) throw fail('token', 'expected matrix://:<access-token>@host/?rooms=!room:server');
  if (!url.host) throw fail('host', 'expected matrix://:<access-token>@host/?rooms=!room:server');
  if (url.pathname !== '' && url.pathname !== '/') throw fail('path', 'expected nothing after the host but /?rooms=…');
  const scheme = yesNo(url, params, 'disableTLS', false) ? 'http' : 'https';
  let origin: string;
  try {
    origin = new URL(`${scheme}://${url.host}`).origin;
  } catch {
    throw fail('host', 'not a valid host[:port]');
  }
  const rooms = [params.get('rooms'), params.get('room')].filter((r) => r !== undefined).flatMap((r) => r.split(','));
  return settingsOf(
    { base: apiBase(url, origin), token: decodedPart(url, url.password, 'token'), rooms, ...(params.has('title') ? { title: params.get('title')! } : {}) },
    fail,
  );
}

/** A `--config` entry: { homeserver, token, rooms, title? }. */
export function matrixSettingsFromConfig(entry: Readonly<Record<string, unknown>>): MatrixSettings {
  const e = configEntry(entry, { kind: 'matrix', keys: CONFIG_KEYS });
  const homeserver = e.requiredText('homeserver', 'required: the homeserver\'s client API URL');
  const token = e.requiredText('token', 'required: the access token');
  const base = e.baseUrl('homeserver', homeserver);
  const rooms = e.requiredList('rooms', 'expected a list of room ids (!…)');
  const title = e.text('title');
  return settingsOf({ base, token, rooms, ...(title !== undefined ? { title } : {}) }, e.fail);
}

export const matrixChannel = defineKind<MatrixSettings>({
  kind: 'matrix',
  schemes: ['matrix'],
  urlExample: 'matrix://:ACCESS_TOKEN@host/?rooms=!room:server',
  groups: true,
  fromUrl: matrixSettingsFromUrl,
  fromConfig: matrixSettingsFromConfig,
  secrets: (s) => [s.token],
  create: (settings, ctx) => {
    const http = createHttpPost({ url: settings.homeserver, timeoutMs: ctx.httpTimeoutMs, headers: { authorization: `Bearer ${settings.token}` } });
    const base = settings.homeserver.href.replace(/\/+$/, '');
    return messageChannel({
      name: ctx.name,
      concurrency: http.connections,
      rateLimit: matrixRateLimit(settings.rooms.length),
      say: async (lines, items, signal) => {
        const body = matrixBody(settings, lines);
        let last: SendResult = sent();
        for (const room of settings.rooms) {
          const url = new URL(`${base}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${matrixTxnId(items, room)}`);
          const result = await http.send({ method: 'PUT', url, body, refusal: matrixRefusal }, signal);
          if (!result.ok) return settings.rooms.length === 1 ? result : { ...result, error: `${result.error} (room ${room})` };
          last = result;
        }
        return last;
      },
      close: () => http.close(),
    });
  },
});
