/**
 * Webhooks, with undici: a generic JSON POST (`--webhook`), and the incoming
 * webhooks of Slack (`--slack-webhook`) and Discord (`--discord-webhook`).
 * Each flag may be given more than once (its env var takes a comma- or
 * space-separated list); the channels are named webhook, webhook-2, …,
 * slack, slack-2, …, discord, discord-2, ….
 *
 * Every request carries `Idempotency-Key: <alert id>`, the same on every
 * retry. Generic webhooks get the alert as JSON (email-content.ts's
 * AlertRecord) and, with `--webhook-token`, `Authorization: Bearer <token>`.
 *
 * 2xx is delivered; 408, 429 and 5xx are transient (Retry-After honoured, in
 * seconds or as an HTTP date); other statuses are permanent, with a short
 * excerpt of the answer; network errors and timeouts are transient. Bodies
 * are read (or discarded) so that connections are reused.
 *
 * A webhook URL is a secret (Slack and Discord carry their token in the path):
 * it is returned by secrets(), and log and error text name a webhook by its
 * scheme and host only.
 */
import { Agent, request } from 'undici';
import { ConfigError, durationArg, envOption, listArg } from '../../../shared/config.ts';
import { formatDurationFlag as formatDuration } from '../../../shared/duration.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { alertRecord, alertTime, emailContent, formatDurationMs } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelKind } from './channel.ts';

export type WebhookFlavour = 'webhook' | 'slack' | 'discord';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
const USER_AGENT = 'ch2-mailer/0.1';
/** How much of a refusing answer goes into the error (characters). */
const EXCERPT_MAX = 200;
/** Bytes of an answer read at most; a longer one is cut off (and its connection closed). */
const READ_LIMIT = 256 * 1024;
const SLACK_TEXT_MAX = 3000;
const DISCORD_CONTENT_MAX = 2000;

const FLAGS: Record<WebhookFlavour, { flag: string; env: string }> = {
  webhook: { flag: '--webhook', env: 'WEBHOOK_URL' },
  slack: { flag: '--slack-webhook', env: 'SLACK_WEBHOOK_URL' },
  discord: { flag: '--discord-webhook', env: 'DISCORD_WEBHOOK_URL' },
};

/** A webhook named for logs and errors: scheme and host only (the path may hold a token). */
export function webhookOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * One webhook URL, checked at start. The value is never echoed in the error:
 * it may carry a token.
 */
export function webhookUrl(text: string, flavour: WebhookFlavour = 'webhook'): URL {
  const { flag, env } = FLAGS[flavour];
  const where = `${flag} / ${env}`;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(`${where}: expected an http:// or https:// URL (the value is not shown: it may carry a token).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${where}: expected a URL starting http:// or https://, not ${url.protocol}// (the rest is not shown: it may carry a token).`);
  }
  if (!url.hostname) throw new ConfigError(`${where}: the URL has no host.`);
  if (url.username || url.password) {
    throw new ConfigError(`${where}: user:password@ in a webhook URL is not supported; use --webhook-token for a bearer token.`);
  }
  url.hash = '';
  return url;
}

/** Commander parser for a repeatable list option: each value may be a comma- or space-separated list. */
function webhookList(flavour: WebhookFlavour): (value: string, previous: URL[] | undefined) => URL[] {
  return listArg((text) => webhookUrl(text, flavour), {
    separator: /[\s,]+/,
    key: (url) => url.href,
    twice: () => new ConfigError(`${FLAGS[flavour].flag} / ${FLAGS[flavour].env}: the same URL is given twice.`),
  });
}

export function webhookTokenArg(text: string): string {
  const token = text.trim();
  // Visible ASCII only: anything else could not go into a header (or would split it).
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('--webhook-token / WEBHOOK_TOKEN: expected a token of visible ASCII characters, no spaces or line breaks (the value is not shown).');
  }
  return token;
}

/** Retry-After: delay-seconds or an HTTP date, as ms from now. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---- payloads ----------------------------------------------------------------------

/** The lines a chat message gives: what, where, why, when, how long, which alert. */
function chatLines(item: QueuedAlert): { title: string; details: string[] } {
  const { alert } = item;
  const { subject } = emailContent(item);
  const details: string[] = [];
  if (alert.reason) details.push(`Reason: ${alert.reason}`);
  if (alert.downForMs !== undefined) details.push(`Down for: ${formatDurationMs(alert.downForMs)}`);
  details.push(`Time: ${alertTime(item)}`);
  details.push(`Alert id: ${alert.id}`);
  return { title: subject, details };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Slack's mrkdwn gives &, < and > meaning (links, @channel): escape them in alert data. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The JSON body of a POST to a webhook of this flavour. */
export function webhookPayload(flavour: WebhookFlavour, item: QueuedAlert): unknown {
  if (flavour === 'webhook') return alertRecord(item);
  const { title, details } = chatLines(item);
  if (flavour === 'slack') {
    const text = clip(`*${slackEscape(title)}*\n${details.map(slackEscape).join('\n')}`, SLACK_TEXT_MAX);
    return { text, unfurl_links: false, unfurl_media: false };
  }
  // Discord: no @everyone, @here or role pings from alert data.
  return { content: clip(`**${title}**\n${details.join('\n')}`, DISCORD_CONTENT_MAX), allowed_mentions: { parse: [] } };
}

// ---- sending -----------------------------------------------------------------------

export interface WebhookOptions {
  url: URL;
  flavour?: WebhookFlavour;
  name?: string;
  /** Bearer token (generic webhooks only). */
  token?: string;
  timeoutMs?: number;
}

/** One line of an answer's body, bounded, with the webhook's URL (and its path) taken out. */
function excerpt(body: string, url: URL): string {
  let text = body;
  for (const secret of [url.href, `${url.pathname}${url.search}`]) {
    if (secret.length >= 3) text = text.split(secret).join('…');
  }
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return text.length > EXCERPT_MAX ? `${text.slice(0, EXCERPT_MAX - 1)}…` : text;
}

type Body = AsyncIterable<Buffer> & { dump(opts?: { limit: number }): Promise<void> };

/** The start of an answer's body (read to its end when it is not too long, so the connection is reused). */
async function readStart(body: Body, max: number): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (keptBytes < max) {
      const part = chunk.subarray(0, max - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (seen > READ_LIMIT) break;
  }
  return Buffer.concat(kept).toString('utf8');
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${formatDuration(timeoutMs)}`;
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection closed before the answer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer within ${formatDuration(timeoutMs)}`;
    default:
      return code ?? 'network error';
  }
}

export function createWebhookChannel(options: WebhookOptions): Channel {
  const { url } = options;
  const flavour = options.flavour ?? 'webhook';
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const where = webhookOrigin(url);
  const dispatcher = new Agent({
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: 4,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': USER_AGENT, accept: 'application/json, text/plain;q=0.9, */*;q=0.1' };
  if (flavour === 'webhook' && options.token) headers.authorization = `Bearer ${options.token}`;

  return {
    name: options.name ?? flavour,
    async send(item: QueuedAlert): Promise<SendResult> {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          dispatcher,
          method: 'POST',
          headers: { ...headers, 'idempotency-key': item.alert.id },
          body: JSON.stringify(webhookPayload(flavour, item)),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return transient(`${where}: ${networkReason(err, timeoutMs)}`);
      }
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        // Delivered once the status is in; reading the rest only frees the connection.
        await res.body.dump({ limit: READ_LIMIT }).catch(() => {});
        return sent(`HTTP ${status}`);
      }
      let answer = '';
      try {
        answer = excerpt(await readStart(res.body as unknown as Body, 4 * EXCERPT_MAX), url);
      } catch {
        // The status decides; a body cut short only loses the excerpt.
      }
      const error = `${where} answered HTTP ${status}${answer ? `: ${answer}` : ''}`;
      if (status === 408 || status === 429 || status >= 500) return transient(error, parseRetryAfter(res.headers['retry-after']));
      return permanent(error);
    },
    async close() {
      // At shutdown: do not wait for a slow receiver (the alert stays owed in the spool).
      await dispatcher.destroy().catch(() => {});
    },
  };
}

// ---- the kind ----------------------------------------------------------------------

const FLAVOURS: readonly WebhookFlavour[] = ['webhook', 'slack', 'discord'];
const OPTION_KEY: Record<WebhookFlavour, string> = { webhook: 'webhook', slack: 'slackWebhook', discord: 'discordWebhook' };

function urlsOf(opts: Record<string, unknown>, flavour: WebhookFlavour): URL[] {
  return (opts[OPTION_KEY[flavour]] as URL[] | undefined) ?? [];
}

export const webhookChannel: ChannelKind = {
  kind: 'webhook',
  options: () => [
    envOption('--webhook <url>', 'POST each alert as JSON to this URL (repeatable, or a comma-separated list)', 'WEBHOOK_URL').argParser(webhookList('webhook')),
    envOption('--slack-webhook <url>', 'post each alert to this Slack incoming webhook (repeatable, or a list)', 'SLACK_WEBHOOK_URL').argParser(webhookList('slack')),
    envOption('--discord-webhook <url>', 'post each alert to this Discord webhook (repeatable, or a list)', 'DISCORD_WEBHOOK_URL').argParser(webhookList('discord')),
    envOption('--webhook-token <token>', 'sent as "Authorization: Bearer <token>" to --webhook URLs', 'WEBHOOK_TOKEN', webhookTokenArg),
    envOption('--webhook-timeout <duration>', 'time one webhook request may take in all', 'WEBHOOK_TIMEOUT', durationArg(100, 120_000)).default(DEFAULT_WEBHOOK_TIMEOUT_MS, formatDuration(DEFAULT_WEBHOOK_TIMEOUT_MS)),
  ],
  secrets: (opts) => {
    const out: string[] = [];
    for (const flavour of FLAVOURS) {
      for (const url of urlsOf(opts, flavour)) {
        out.push(url.href);
        const pathAndQuery = `${url.pathname}${url.search}`;
        if (pathAndQuery.length >= 8) out.push(pathAndQuery);
      }
    }
    if (typeof opts.webhookToken === 'string') out.push(opts.webhookToken);
    return out;
  },
  create: (opts) =>
    FLAVOURS.flatMap((flavour) =>
      urlsOf(opts, flavour).map((url, i) =>
        createWebhookChannel({
          url,
          flavour,
          name: i === 0 ? flavour : `${flavour}-${i + 1}`,
          ...(typeof opts.webhookToken === 'string' ? { token: opts.webhookToken } : {}),
          timeoutMs: opts.webhookTimeout as number,
        }),
      ),
    ),
};
