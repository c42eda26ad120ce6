/**
 * The HTTP transport under every webhook-style channel (webhook.ts, slack.ts,
 * discord.ts): one undici Agent per channel, a JSON POST with a deadline and
 * the dispatcher's AbortSignal, and the verdict on the answer.
 *
 * 2xx is delivered; 408, 429 and 5xx are transient (Retry-After honoured, in
 * seconds or as an HTTP date: shared/retry-after.ts); other statuses are
 * permanent, with a short one-line excerpt of the answer; network errors,
 * timeouts and a cancelled send are transient. Bodies are read (or discarded)
 * so that connections are reused.
 *
 * At most `connections` requests run at once, and the channel says so
 * (concurrency), so that the dispatcher never hands undici more than it can
 * send: nothing waits in undici's queue while its deadline runs.
 *
 * A webhook URL is a secret (Slack and Discord carry their token in the path):
 * the kinds return it from secrets(), and log and error text name a webhook
 * by its scheme and host only.
 */
import { Agent, request } from 'undici';
import { ConfigError, listArg } from '../../../shared/config.ts';
import { describeFailure } from '../../../shared/net-errors.ts';
import { parseRetryAfter } from '../../../shared/retry-after.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Requests one channel has under way at once (undici connections). */
export const HTTP_CONNECTIONS = 4;
const USER_AGENT = 'ch2-mailer/0.1';
/** How much of a refusing answer goes into the error (characters). */
const EXCERPT_MAX = 200;
/** Bytes of an answer read at most; a longer one is cut off (and its connection closed). */
const READ_LIMIT = 256 * 1024;

/** A webhook named for logs and errors: scheme and host only (the path may hold a token). */
export function webhookOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Where a URL came from, for error messages: "--slack-webhook / SLACK_WEBHOOK_URL". */
export interface UrlFlag {
  flag: string;
  env: string;
}

/**
 * One webhook URL, checked at start. The value is never echoed in the error:
 * it may carry a token.
 */
export function webhookUrl(text: string, from: UrlFlag): URL {
  const where = `${from.flag} / ${from.env}`;
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
export function webhookList(from: UrlFlag): (value: string, previous: URL[] | undefined) => URL[] {
  return listArg((text) => webhookUrl(text, from), {
    separator: /[\s,]+/,
    key: (url) => url.href,
    twice: () => new ConfigError(`${from.flag} / ${from.env}: the same URL is given twice.`),
  });
}

/** The secrets in webhook URLs: the whole URL, and its path and query (where Slack and Discord keep the token). */
export function urlSecrets(urls: readonly URL[]): string[] {
  return urls.flatMap((url) => {
    const pathAndQuery = `${url.pathname}${url.search}`;
    return pathAndQuery.length >= 8 ? [url.href, pathAndQuery] : [url.href];
  });
}

/** One line of an answer's body, bounded, with the webhook's URL (and its path) taken out. */
function excerpt(body: string, url: URL): string {
  let text = body;
  for (const secret of [url.href, `${url.pathname}${url.search}`]) {
    if (secret.length >= 3) text = text.split(secret).join('…');
  }
  return flatten(text, EXCERPT_MAX);
}

/**
 * Discord's (and GitHub-style) rate-limit headers: with X-RateLimit-Remaining
 * at 0, the destination is paused for X-RateLimit-Reset-After seconds.
 */
function bucketEmpty(headers: Record<string, string | string[] | undefined>): number | undefined {
  if (String(headers['x-ratelimit-remaining']) !== '0') return undefined;
  const after = Number(headers['x-ratelimit-reset-after']);
  return Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 3_600_000) : undefined;
}

type Body = AsyncIterable<Buffer>;

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

export interface HttpPostOptions {
  url: URL;
  timeoutMs?: number;
  /** Headers of every request (besides content-type, user-agent, accept). */
  headers?: Record<string, string>;
}

export interface HttpRequest {
  /** The JSON payload; or, with `contentType`, the body as text. */
  body: unknown;
  /** A body already encoded in this content type (`body` is then a string). */
  contentType?: string;
  headers?: Record<string, string>;
  method?: 'POST' | 'PUT' | 'PATCH';
  /** Another URL than the channel's (same receiver, e.g. a path with a transaction id). */
  url?: URL;
  /**
   * Reads a refusing answer before the default verdict (Telegram's and
   * Matrix's retry-after in the JSON body): status, the start of the body,
   * and the default error line. Undefined keeps the default.
   */
  refusal?: (status: number, body: string, error: string) => SendResult | undefined;
}

export interface HttpPost {
  /** Requests it runs at once at the most: the channel's concurrency. */
  readonly connections: number;
  /** POST `payload` as JSON; never throws. */
  post(payload: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<SendResult>;
  /** One request as `req` says; never throws. */
  send(req: HttpRequest, signal: AbortSignal): Promise<SendResult>;
  /** Drop every connection at once (a send under way ends transient). */
  close(): Promise<void>;
}

export function createHttpPost(options: HttpPostOptions): HttpPost {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const where = webhookOrigin(options.url);
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: HTTP_CONNECTIONS });
  const base = { 'content-type': 'application/json', 'user-agent': USER_AGENT, accept: 'application/json, text/plain;q=0.9, */*;q=0.1', ...options.headers };

  async function send(req: HttpRequest, signal: AbortSignal): Promise<SendResult> {
    const url = req.url ?? options.url;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const headers = { ...base, ...(req.contentType ? { 'content-type': req.contentType } : {}), ...req.headers };
    const body = req.contentType ? String(req.body) : JSON.stringify(req.body);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { dispatcher: agent, method: req.method ?? 'POST', headers, body, signal: deadline });
    } catch (err) {
      if (signal.aborted) return transient(`${where}: send cancelled`);
      return transient(`${where}: ${describeFailure(err, { timeoutMs, connectTimeoutMs: timeoutMs })}`);
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      // Delivered once the status is in; reading the rest only frees the connection.
      await res.body.dump({ limit: READ_LIMIT }).catch(() => {});
      return sent(`HTTP ${status}`, bucketEmpty(res.headers));
    }
    let text = '';
    try {
      text = await readStart(res.body as unknown as Body, req.refusal ? 16 * 1024 : 4 * EXCERPT_MAX);
    } catch {
      // The status decides; a body cut short only loses the excerpt.
    }
    let answer = excerpt(text, options.url);
    if (url !== options.url) answer = excerpt(answer, url);
    const error = `${where} answered HTTP ${status}${answer ? `: ${answer}` : ''}`;
    const verdict = req.refusal?.(status, text, error);
    if (verdict) return verdict;
    if (status === 408 || status === 429 || status >= 500) return transient(error, parseRetryAfter(res.headers['retry-after']));
    return permanent(error);
  }

  return {
    connections: HTTP_CONNECTIONS,
    post: (payload, headers, signal) => send({ body: payload, headers }, signal),
    send,
    async close() {
      // At shutdown: do not wait for a slow receiver (the alert stays owed in the store).
      await agent.destroy().catch(() => {});
    },
  };
}
