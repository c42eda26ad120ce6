/**
 * Hands alerts to the mailer, in ch2's JSON or the book's raw text. Returns
 * one MailerResult per alert: transient failures (mailer unreachable, 5xx,
 * 429) are retried by the notifier; permanent ones (other 4xx) are not.
 * With a token, JSON requests carry `Authorization: Bearer <token>`. A 401 or
 * 403 is no answer about the alert but about us (a wrong or missing
 * `--mailer-token`, a recipient the mailer does not allow): it is `refused`,
 * kept and retried like an unreachable mailer until the setting is fixed,
 * with a line that says what to fix.
 *
 * JSON alerts go in batches, `POST /api/v1/alerts` with an array
 * (shared/wire-batch.ts), whose answer says per alert what a single
 * `POST /alerts` would have said; several batches may be in flight (the
 * notifier keeps each target's alerts in order). A mailer that answers that
 * path 404 (a ch2 mailer from before batches) has taken none of them: they
 * go again one per `POST /alerts`, and so does every alert after, with one
 * line saying so. The raw protocol carries one alert per connection, one
 * connection at a time, as the book's `nc -l` mailer wants.
 *
 * JSON goes over node:http, not undici: the checks already load node:http, so
 * an alert costs nothing more to load, where undici would compile its WASM
 * HTTP parser at the first alert (tens of ms, and about 25 MB of RSS kept for
 * the rest of the agent's life) for a few small POSTs. Alerts are rare, so
 * each request opens its own connection (`Connection: close`): no kept-alive
 * connection to the mailer can go stale between two alerts.
 */
import { connect } from 'node:net';
import { forgetAddress, keptLookup } from '../lookup.ts';
import type { Alert } from '../../shared/alert.ts';
import { hostPort, type LinkEndpoint } from '../../shared/legacy-links.ts';
import { permanent, type SendResult, sent, transient } from '../../shared/send-result.ts';
import { encodeRaw } from '../../shared/wire-raw.ts';
import { ALERTS_PATH, encodeAlertJson } from '../../shared/wire-json.ts';
import { BATCH_ALERTS_PATH, BATCH_MAX_BYTES, encodeAlertBatch, readBatchAnswer } from '../../shared/wire-batch.ts';
import type { Logger } from '../../shared/logger.ts';
import { describeFailure, oneLineReason } from '../../shared/net-errors.ts';
import { parseRetryAfter } from '../../shared/retry-after.ts';

/** json: POST /alerts (ch2's mailer); raw: the book's text over TCP (the book's mailer too). */
export const MAILER_PROTOCOLS = ['json', 'raw'] as const;
export type MailerProtocol = (typeof MAILER_PROTOCOLS)[number];

// Not an ESM import of node:http: see http-connections.ts (its namespace costs ~14 MB of RSS).
const { Agent, request } = process.getBuiltinModule('node:http');

/** A send's outcome; `refused`: the mailer refused our credentials or recipient (401, 403), retried like a transient failure. */
export type MailerResult = SendResult | { ok: false; retry: true; error: string; refused: 401 | 403 };

/** Sends alerts in one request (or, to a mailer without batches, one request each); one result per alert, in order. */
export type SendAlerts = (alerts: readonly Alert[]) => Promise<MailerResult[]>;

/** Most alerts in one JSON batch (the mailer takes up to BATCH_MAX_ALERTS). */
export const AGENT_BATCH_ALERTS = 100;
/** JSON requests at once to the mailer. */
export const JSON_IN_FLIGHT = 4;

export interface MailerLink {
  send: SendAlerts;
  /** Most alerts one request carries now: 1 for raw, and for JSON once the mailer turned out to take no batches. */
  batchLimit(): number;
  /** Requests at once: 1 for raw (the book's nc takes one connection at a time). */
  inFlight: number;
}

export interface MailerClientOptions {
  mailer: LinkEndpoint;
  protocol: MailerProtocol;
  /** Bearer token for the mailer's HTTP intake (JSON only). Never logged. */
  token?: string;
  timeoutMs?: number;
  /** Where the one line about a mailer without batches goes. */
  log?: Pick<Logger, 'info'>;
}

export function createMailerClient(options: MailerClientOptions): MailerLink {
  const timeoutMs = options.timeoutMs ?? 5000;
  if (options.protocol === 'raw') {
    return { send: async (alerts) => [await sendRaw(options.mailer, alerts[0]!, timeoutMs)], batchLimit: () => 1, inFlight: 1 };
  }
  let batches = true;
  const single = (alert: Alert): Promise<MailerResult> => sendJson(options.mailer, alert, timeoutMs, options.token);
  const send = async (alerts: readonly Alert[]): Promise<MailerResult[]> => {
    if (batches) {
      const answered = await sendBatch(options.mailer, alerts, timeoutMs, options.token);
      if (answered !== 'no batches') return answered;
      batches = false;
      options.log?.info(`The mailer at ${hostPort(options.mailer)} takes no batches (${BATCH_ALERTS_PATH} is a 404: a ch2 mailer from before them); sending alerts one per POST ${ALERTS_PATH}.`, { event: 'no-batches' });
    }
    const results: MailerResult[] = [];
    for (const alert of alerts) {
      const last = results.at(-1);
      // Past an alert to retry (the mailer away, or our token refused), the rest would fare the same.
      results.push(last && !last.ok && last.retry ? last : await single(alert));
    }
    return results;
  };
  return { send, batchLimit: () => (batches ? AGENT_BATCH_ALERTS : 1), inFlight: JSON_IN_FLIGHT };
}

/** One connection per alert, closed after the answer. */
let noKeepAlive: InstanceType<typeof Agent> | undefined;

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** POSTs `body` (alerts here; reports in report-client.ts); rejects on a network error or after `timeoutMs` in all. */
export function post(mailer: LinkEndpoint, path: string, headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<Answer> {
  return exchange(mailer, 'POST', path, { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body, timeoutMs);
}

/** One request to the mailer (POST with a body, HEAD: token-check.ts, GET /healthz: a raw send's reset); rejects on a network error or after `timeoutMs` in all. */
export function exchange(mailer: LinkEndpoint, method: 'POST' | 'HEAD' | 'GET', path: string, headers: Record<string, string>, body: string | Buffer | undefined, timeoutMs: number): Promise<Answer> {
  noKeepAlive ??= new Agent({ keepAlive: false, lookup: keptLookup } as ConstructorParameters<typeof Agent>[0]);
  return new Promise((resolve, reject) => {
    const req = request(
      { agent: noKeepAlive, host: mailer.host, port: mailer.port, path, method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(() => {
      const err = new Error(`timeout after ${timeoutMs}ms`);
      err.name = 'TimeoutError';
      fail(err);
    }, timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      forgetAddress(mailer.host);
      reject(err);
      req.destroy();
    }
    req.on('error', fail);
    req.end(body);
  });
}

async function sendJson(mailer: LinkEndpoint, alert: Alert, timeoutMs: number, token: string | undefined): Promise<MailerResult> {
  try {
    const res = await post(mailer, ALERTS_PATH, jsonHeaders(token), encodeAlertJson(alert), timeoutMs);
    if (res.statusCode === 202 || res.statusCode === 200) return sent(`HTTP ${res.statusCode}`);
    return answerResult(res.statusCode, errorText(res.text), res.headers['retry-after'], token);
  } catch (err) {
    return unreachable(mailer, err, timeoutMs);
  }
}

/**
 * One batch (split in requests of at most BATCH_MAX_BYTES, and in halves on a 413), or
 * 'no batches' when the mailer has no batch path (nothing was taken).
 */
async function sendBatch(mailer: LinkEndpoint, alerts: readonly Alert[], timeoutMs: number, token: string | undefined): Promise<MailerResult[] | 'no batches'> {
  const body = encodeAlertBatch(alerts);
  if (alerts.length > 1 && Buffer.byteLength(body) > BATCH_MAX_BYTES) return halves(alerts, (part) => sendBatch(mailer, part, timeoutMs, token));
  let res: Answer;
  try {
    res = await post(mailer, BATCH_ALERTS_PATH, jsonHeaders(token), body, timeoutMs);
  } catch (err) {
    return alerts.map(() => unreachable(mailer, err, timeoutMs));
  }
  if (res.statusCode === 404) return 'no batches';
  if (res.statusCode === 413 && alerts.length > 1) return halves(alerts, (part) => sendBatch(mailer, part, timeoutMs, token));
  if (res.statusCode === 202 || res.statusCode === 207) {
    const items = readBatchAnswer(res.text, alerts.length);
    // A 202 says every alert was kept; a 207 that cannot be read is retried (the mailer drops the duplicates).
    if (!items) return alerts.map(() => (res.statusCode === 202 ? sent('HTTP 202') : transient(`mailer answered 207 with a body that does not list the ${alerts.length} alerts`)));
    return items.map((item) => (item.status === 202 ? sent('HTTP 202') : answerResult(item.status, 'error' in item ? item.error : undefined, res.headers['retry-after'], token)));
  }
  const whole = answerResult(res.statusCode, errorText(res.text), res.headers['retry-after'], token);
  return alerts.map(() => whole);
}

async function halves<T>(alerts: readonly Alert[], send: (part: readonly Alert[]) => Promise<T[] | 'no batches'>): Promise<T[] | 'no batches'> {
  const mid = Math.ceil(alerts.length / 2);
  const first = await send(alerts.slice(0, mid));
  if (first === 'no batches') return first;
  const second = await send(alerts.slice(mid));
  return second === 'no batches' ? second : [...first, ...second];
}

function jsonHeaders(token: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return headers;
}

function unreachable(mailer: LinkEndpoint, err: unknown, timeoutMs: number): MailerResult {
  return transient(`mailer unreachable at ${hostPort(mailer)}: ${describeFailure(err, { timeoutMs, connectTimeoutMs: timeoutMs })}`);
}

/** What a status other than 202 says about an alert (a single POST's, or one item's of a batch). */
function answerResult(status: number, error: string | undefined, retryAfter: string | string[] | undefined, token: string | undefined): MailerResult {
  const reason = oneLineReason(error ?? `HTTP ${status}`);
  if (status === 408 || status === 429 || status >= 500) return transient(`mailer answered ${status}: ${reason}`, parseRetryAfter(retryAfter));
  if (status === 401) {
    const hint = token === undefined ? 'the mailer wants a bearer token: set --mailer-token (MAILER_TOKEN)' : 'the mailer did not accept our token: check --mailer-token (MAILER_TOKEN)';
    return { ok: false, retry: true, refused: 401, error: `mailer refused the alert (401 unauthorized: ${reason}); ${hint}` };
  }
  if (status === 403) {
    return { ok: false, retry: true, refused: 403, error: `mailer refused the alert (403 forbidden: ${reason}); check --mailer-token (MAILER_TOKEN) and that the mailer allows the recipient` };
  }
  return permanent(`mailer refused the alert (${status}): ${reason}`);
}

/** The `error` of a JSON answer, or the start of a text one. */
export function errorText(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return body.trim().slice(0, 200) || undefined;
  }
}

/** Most time the question after a raw reset (is raw off?) may take. */
export const RAW_PROBE_MS = 2000;

/** Whether the mailer at `mailer` says its raw protocol is off (a ch2 mailer's GET /healthz: `"raw": false`); false on any other answer or none. */
async function rawIsOff(mailer: LinkEndpoint, timeoutMs: number): Promise<boolean> {
  try {
    const { text } = await exchange(mailer, 'GET', '/healthz', {}, undefined, timeoutMs);
    return (JSON.parse(text) as { raw?: unknown }).raw === false;
  } catch {
    return false;
  }
}

/**
 * The book's protocol: connect, write the text, close our side; the mailer
 * reads to EOF. The raw protocol has no answer, so how the mailer closes is
 * the answer: a clean close (its FIN) after our FIN, or a connection it keeps
 * open past the timeout (the book's nc may), means it read the alert; a reset
 * means it refused it (ch2's mailer with --no-raw, or a message over its
 * --max-bytes), a failed send retried like an unreachable mailer, unless
 * the mailer says its raw protocol is off: after a reset (which the book's
 * nc never sends, so it is never asked) one `GET /healthz` of the same port,
 * and a ch2 mailer answering `"raw": false` has refused the alert for good
 * (permanent: the notifier counts it failed, ch2_alerts_failed_total).
 * Any other answer, or none, leaves the reset a failed send, retried.
 */
function sendRaw(mailer: LinkEndpoint, alert: Alert, timeoutMs: number): Promise<SendResult> {
  const payload = encodeRaw(alert.to, alert.message);
  return new Promise((resolve) => {
    let written = false;
    let peerEnded = false;
    let settled = false;
    const finish = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({ host: mailer.host, port: mailer.port, lookup: keptLookup });
    const timer = setTimeout(() => {
      // All bytes and our FIN were handed over: a mailer that keeps the
      // connection open has the message (the book's reads to EOF).
      if (written) finish(sent('raw, peer kept the connection open'));
      else finish(transient(`mailer at ${hostPort(mailer)} did not answer within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.end(payload, () => {
        written = true;
      });
    });
    socket.on('data', () => {});
    socket.on('end', () => {
      peerEnded = true;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      forgetAddress(mailer.host);
      if (socket.bytesWritten > 0 && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        void rawIsOff(mailer, Math.min(timeoutMs, RAW_PROBE_MS)).then((off) =>
          resolve(
            off
              ? permanent(`the mailer at ${hostPort(mailer)} refused the raw alert: its raw text protocol is off (--no-raw, or --token without --raw); use --mailer-protocol json (with --mailer-token)`)
              : transient(`mailer at ${hostPort(mailer)} reset the connection: it refused the raw alert (is its raw protocol off, --no-raw, or the alert over its --max-bytes?)`),
          ),
        );
        return;
      }
      finish(transient(`mailer unreachable at ${hostPort(mailer)}: ${describeFailure(err, { timeoutMs, connectTimeoutMs: timeoutMs })}`));
    });
    socket.on('close', (hadError) => {
      if (written && peerEnded && !hadError) finish(sent('raw'));
      else if (written) finish(transient(`mailer at ${hostPort(mailer)} dropped the connection without a clean close; the alert may not have been read`));
      else finish(transient(`mailer at ${hostPort(mailer)} closed the connection before the alert was sent`));
    });
  });
}
