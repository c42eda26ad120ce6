/**
 * Telegram, through the Bot API's sendMessage (core.telegram.org/bots/api
 * #sendmessage): each alert, or a group of them, is one message to every chat
 * of the channel, `POST <api>/bot<token>/sendMessage` with JSON `{"chat_id",
 * "text", "parse_mode": "HTML", "link_preview_options": {"is_disabled":
 * true}[, "message_thread_id"][, "disable_notification": true]}` over
 * http-post.ts. Default api: https://api.telegram.org.
 *
 * The text is the subject in <b>…</b>, then reason, outage, time and alert
 * id, one per line, at most 4,096 characters (Telegram's limit, counted after
 * the HTML is parsed; a big group ends in "… and N more alerts"). Alert data
 * is not trusted: telegramEscape turns & < > into entities (all Telegram's
 * HTML mode asks for), so it can open no tag (no <a href>, no formatting),
 * and puts a zero-width space after every @, so an `@username` in it is no
 * mention (Telegram notifies a mentioned group member). Link previews are
 * off; a bare URL shows as written (Telegram makes it clickable, naming its
 * real address).
 *
 * Several chats, one channel: the chats are sent to in order, stopping at the
 * first that fails, and the result is that failure (transient or permanent,
 * naming the chat and how many had it already). Nothing is remembered: a retry
 * sends to every chat again, so a chat before the failing one may see an
 * alert twice (at-least-once). For exactly one message per chat, configure a
 * channel per chat.
 *
 * Answers: 429 is transient after `parameters.retry_after` (seconds, in the
 * JSON body), else after Retry-After; 5xx transient; 400 (a bad chat, a parse
 * error; a group that became a supergroup names its new chat id), 401 (a bad
 * token), 403 (the bot was blocked or removed) and 404 are permanent. The bot
 * token sits in the request path: it is in no error text and no log line.
 *
 * Rate limit (Telegram's FAQ): one message a second per chat, 20 a minute per
 * group, 30 a second in all. Every send reaches every chat once, so the
 * channel sends at most 1 a second ({1 per 1000 ms}), or with any group or
 * channel chat (an id starting with '-', or an @channel name) 20 a minute
 * ({20 per 60 s}); with more than 30 chats, slower still, so that the chats
 * together get at most 30 a second.
 *
 * `--notify` (shoutrrr's form): `telegram://<token>@telegram?chats=<chat>[,<chat>…]`
 * (the token is `<bot id>:<secret>`, so in the URL the user and password;
 * `channels` is the same as `chats`; a chat is a numeric id, `@channelname`,
 * or `<chat id>:<message_thread_id>` for a forum topic). Parameters:
 * notification (no: silent), preview (yes: link previews), parsemode (only
 * html), api. Others (title) are refused.
 * `--config` keys: token, chats (a list, or a comma-separated string), and
 * optionally notification, preview (booleans), api.
 */
import { ConfigError } from '../../../shared/config.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { RateLimit } from './channel.ts';
import { defineKind } from './channel.ts';
import { createHttpPost, webhookOrigin } from './http-post.ts';
import { configEntry } from './config-entry.ts';
import { fitLines, messageChannel } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams, yesNo } from './notify-url.ts';

export const TELEGRAM_API = 'https://api.telegram.org';
/** Characters of text at most (Telegram: 4,096 after the entities are parsed). */
const TEXT_MAX = 4096;
const TOKEN = /^[0-9]+:[A-Za-z0-9_-]+$/;
const CHAT = /^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})(?::([0-9]{1,12}))?$/;
const CONFIG_KEYS = ['token', 'chats', 'notification', 'preview', 'api'];

export interface TelegramChat {
  /** A numeric id (as text) or an @channelname. */
  id: string;
  /** A forum topic: message_thread_id. */
  thread?: number;
}

export interface TelegramSettings {
  /** `<bot id>:<secret>`: a secret. */
  token: string;
  chats: TelegramChat[];
  /** <api>/bot<token>/sendMessage. */
  url: URL;
  /** False: disable_notification (a silent message). */
  notification: boolean;
  /** True: link previews on. */
  preview: boolean;
}

/** Alert text as inert Telegram HTML: & < > as entities, @ broken by a zero-width space. */
export function telegramEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/@/g, '@\u200b');
}

/** What a line shows once Telegram has parsed it: its length after the zero-width spaces go in. */
const shown = (line: string): number => line.length + (line.match(/@/g)?.length ?? 0);

/** The message text: the subject in bold, then a line per detail, within Telegram's 4,096 characters. */
export function telegramText(lines: MessageLines): string {
  // Counted as Telegram counts (entities and tags parsed), with room for the closing "… and N more alerts" line.
  return fitLines(lines, { escape: telegramEscape, frame: (title) => `<b>${title}</b>`, size: (_escaped, raw) => shown(raw), max: TEXT_MAX - 40 }).join('\n');
}

export function telegramBody(s: TelegramSettings, chat: TelegramChat, text: string): Record<string, unknown> {
  return {
    chat_id: /^-?\d+$/.test(chat.id) && Number.isSafeInteger(Number(chat.id)) ? Number(chat.id) : chat.id,
    ...(chat.thread !== undefined ? { message_thread_id: chat.thread } : {}),
    text,
    parse_mode: 'HTML',
    ...(s.preview ? {} : { link_preview_options: { is_disabled: true } }),
    ...(s.notification ? {} : { disable_notification: true }),
  };
}

/** A group, supergroup or channel: a negative id or an @name (20 messages a minute). */
const isGroup = (chat: TelegramChat): boolean => chat.id.startsWith('-') || chat.id.startsWith('@');

/** The strictest of Telegram's limits for these chats (each send reaches every chat once). */
export function telegramRateLimit(chats: readonly TelegramChat[]): RateLimit {
  const base = chats.some(isGroup) ? { count: 20, perMs: 60_000 } : { count: 1, perMs: 1000 };
  // 30 messages a second in all: `count` sends reach count × chats chats.
  return { count: base.count, perMs: Math.max(base.perMs, Math.ceil((base.count * chats.length * 1000) / 30)) };
}

const label = (chat: TelegramChat): string => (chat.thread === undefined ? chat.id : `${chat.id}:${chat.thread}`);

/** Telegram's JSON refusal: retry_after on 429, its description otherwise; undefined for another body. */
export function telegramRefusal(where: string, chat: TelegramChat, status: number, body: string): SendResult | undefined {
  let answer: { description?: unknown; parameters?: { retry_after?: unknown; migrate_to_chat_id?: unknown } };
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    return undefined;
  }
  if (typeof answer !== 'object' || answer === null) return undefined;
  const description = typeof answer.description === 'string' ? flatten(answer.description, 200) : '';
  const error = `${where} answered HTTP ${status} for chat ${label(chat)}${description ? `: ${description}` : ''}`;
  const after = answer.parameters?.retry_after;
  if (status === 429) return transient(error, typeof after === 'number' && after >= 0 ? Math.min(after, 86_400) * 1000 : undefined);
  const moved = answer.parameters?.migrate_to_chat_id;
  if (typeof moved === 'number') return permanent(`${error} (the group is now the supergroup ${moved}: use that chat id)`);
  if (status === 408 || status >= 500) return transient(error);
  return permanent(error);
}

function chatOf(text: string, where: string): TelegramChat {
  const m = CHAT.exec(text.trim());
  if (!m) throw new ConfigError(`${where}: ${JSON.stringify(flatten(text, 40))} is no chat: expected a numeric chat id, @channelname, or <chat id>:<thread id>.`);
  return { id: m[1]!, ...(m[2] !== undefined ? { thread: Number(m[2]) } : {}) };
}

function chatsOf(list: readonly string[], where: string): TelegramChat[] {
  const chats = list.filter((c) => c.trim() !== '').map((c) => chatOf(c, where));
  if (chats.length === 0) throw new ConfigError(`${where}: no chat given; expected at least one chat id or @channelname.`);
  if (new Set(chats.map(label)).size !== chats.length) throw new ConfigError(`${where}: the same chat is given twice.`);
  return chats;
}

function tokenOf(value: unknown, where: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new ConfigError(`${where}: expected a bot token, <bot id>:<secret> as @BotFather gives it (the value is not shown: it is a secret).`);
  }
  return value;
}

const endpoint = (base: string, token: string): URL => new URL(`${base}/bot${token}/sendMessage`);

/** `telegram://<token>@telegram?chats=<chat>[,<chat>…]` (the token's ':' splits it into user and password). */
export function telegramFromUrl(url: URL): TelegramSettings {
  const where = 'telegram:// URL';
  const params = notifyParams(url, ['chats', 'channels', 'notification', 'preview', 'parsemode']);
  if (!url.username || !url.password) throw new ConfigError(`${where}: expected telegram://<bot id>:<secret>@telegram?chats=… (the URL is not shown: it holds the token).`);
  if (url.pathname !== '' && url.pathname !== '/') throw new ConfigError(`${where}: expected no path after the host (the URL is not shown: it holds the token).`);
  const token = tokenOf(`${decodedPart(url, url.username, 'token')}:${decodedPart(url, url.password, 'token')}`, `${where}: the token`);
  if (params.has('chats') && params.has('channels')) throw new ConfigError(`${where}: give chats or channels, not both.`);
  const chats = chatsOf((params.get('chats') ?? params.get('channels') ?? '').split(','), `${where}: chats`);
  const mode = params.get('parsemode');
  if (mode !== undefined && !/^html$/i.test(mode)) throw new ConfigError(`${where}: parsemode: only HTML is supported (alert text is escaped for it).`);
  return {
    token,
    chats,
    url: endpoint(apiBase(url, TELEGRAM_API), token),
    notification: yesNo(url, params, 'notification', true),
    preview: yesNo(url, params, 'preview', false),
  };
}

/** A `--config` entry: `{ token, chats, notification?, preview?, api? }`. */
export function telegramFromConfig(entry: Readonly<Record<string, unknown>>): TelegramSettings {
  const e = configEntry(entry, { kind: 'telegram', keys: CONFIG_KEYS });
  const token = tokenOf(entry.token, 'token');
  const base = e.api(TELEGRAM_API);
  const notification = e.flag('notification', true);
  const preview = e.flag('preview', false);
  const chats = chatsOf(e.requiredList('chats', 'expected a list of chats (strings), or a comma-separated string'), 'chats');
  return { token, chats, url: endpoint(base, token), notification, preview };
}

/** The token, and its secret half: kept out of error lines and logs. */
function tokenSecrets(token: string): string[] {
  return [token, token.slice(token.indexOf(':') + 1)];
}

export const telegramChannel = defineKind<TelegramSettings>({
  kind: 'telegram',
  groups: true,
  schemes: ['telegram'],
  urlExample: 'telegram://TOKEN@telegram?chats=123',
  fromUrl: telegramFromUrl,
  fromConfig: telegramFromConfig,
  secrets: (s) => [...tokenSecrets(s.token), s.url.href],
  create: (s, ctx) => {
    const http = createHttpPost({ url: s.url, timeoutMs: ctx.httpTimeoutMs });
    const where = webhookOrigin(s.url);
    return messageChannel({
      name: ctx.name,
      concurrency: http.connections,
      rateLimit: telegramRateLimit(s.chats),
      async say(lines, _items, signal) {
        const text = telegramText(lines);
        for (const [i, chat] of s.chats.entries()) {
          const result = await http.send({ body: telegramBody(s, chat, text), refusal: (status, body) => telegramRefusal(where, chat, status, body) }, signal);
          if (!result.ok) {
            const which = result.error.includes(`for chat ${label(chat)}`) ? '' : ` (chat ${label(chat)})`;
            const before = i === 0 ? '' : ` (${i} of ${s.chats.length} chats had it already; a retry sends to every chat again)`;
            return { ...result, error: `${result.error}${which}${before}` };
          }
        }
        return sent(`sent to ${s.chats.length} chat${s.chats.length === 1 ? '' : 's'}`);
      },
      secrets: tokenSecrets(s.token),
      close: () => http.close(),
    });
  },
});
