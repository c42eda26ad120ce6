/**
 * What an HTTP answer means, whichever client fetched it (http-probe.ts on
 * node:http, http-undici.ts on undici): the request's headers, how much of a
 * body is read, and the judgement of status, body keywords and response time.
 */
import { daysFrom } from '../../shared/net-errors.ts';
import type { CheckResult, SkipReason } from './probe.ts';
import type { TargetSpec } from '../target.ts';
import type { ChainDates } from './tls-certificates.ts';
import { judgeJson } from '../json-assertions.ts';

const USER_AGENT = 'ch2-agent/0.1';
/** The most of a body read for `bodyContains` / `bodyNotContains` / `json`; the rest is not looked at (a larger JSON answer is down). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The most of a body read (and dropped) when no keyword is checked; beyond it the connection is closed. */
export const DUMP_LIMIT_BYTES = 256 * 1024;
const HEADERS = { 'user-agent': USER_AGENT, accept: '*/*' };

export type HttpSpec = Pick<
  TargetSpec,
  'url' | 'timeoutMs' | 'connectTimeoutMs' | 'expectStatus' | 'bodyContains' | 'bodyNotContains' | 'maxResponseTimeMs' | 'caFile' | 'caPem' | 'insecure' | 'certExpiryMs' | 'method' | 'requestHeaders' | 'basicAuth' | 'requestBody' | 'follow' | 'jsonAssertions'
>;

/** What a check of `spec` sends: GET with HEADERS by default; a target's own headers, basic auth and body. */
export function requestOf(spec: HttpSpec): { method: string; headers: Record<string, string>; body?: Buffer } {
  const headers: Record<string, string> = { ...HEADERS, ...spec.requestHeaders };
  if (spec.basicAuth) headers.authorization = spec.basicAuth.authorization;
  if (spec.requestBody === undefined) return { method: spec.method ?? 'GET', headers };
  const body = Buffer.from(spec.requestBody, 'utf8');
  headers['content-length'] = String(body.length);
  return { method: spec.method ?? 'GET', headers, body };
}

/** Why an answer means down, or undefined when it means up. */
export function judge(spec: HttpSpec, status: number, body: string | undefined, latencyMs: number, truncated = false): string | undefined {
  if (!spec.expectStatus(status)) return `HTTP ${status}`;
  if (spec.jsonAssertions !== undefined) {
    const problem = truncated ? `body larger than ${BODY_LIMIT_BYTES / 1024 / 1024} MiB: its JSON is not read` : judgeJson(spec.jsonAssertions, body ?? '');
    if (problem !== undefined) return problem;
  }
  if (spec.bodyContains !== undefined && !(body ?? '').includes(spec.bodyContains)) {
    return `body does not contain ${JSON.stringify(spec.bodyContains)}`;
  }
  if (spec.bodyNotContains !== undefined && (body ?? '').includes(spec.bodyNotContains)) {
    return `body contains ${JSON.stringify(spec.bodyNotContains)}`;
  }
  if (spec.maxResponseTimeMs !== undefined && latencyMs > spec.maxResponseTimeMs) {
    return `slow: ${Math.round(latencyMs)}ms, over ${spec.maxResponseTimeMs}ms`;
  }
  return undefined;
}

/** Why a certificate chain means down under --cert-expiry (`windowMs`), or undefined. */
export function certExpiryProblem(dates: ChainDates, windowMs: number, now: number): string | undefined {
  const left = dates.validTo - now;
  if (left >= windowMs) return undefined;
  const which = dates.leaf ? 'certificate' : `certificate ${JSON.stringify(dates.soonest)} of the chain`;
  const day = new Date(dates.validTo).toISOString().slice(0, 10);
  return left <= 0 ? `${which} expired ${daysFrom(dates.validTo, now)} ago (${day})` : `${which} expires in ${daysFrom(dates.validTo, now)} (${day})`;
}

/**
 * What one check has seen so far, whichever client runs it: when it started,
 * the status, and the body up to the limit (kept only when a keyword is checked).
 */
export class CheckProgress {
  readonly started = performance.now();
  readonly at = Date.now();
  status = 0;
  /** The certificate chain of the connection that answered (https). */
  certDates: ChainDates | undefined;
  /** A 3xx answer's Location. */
  location: string | undefined;
  /** The verdict was the certificate's (--cert-expiry): the next check takes a fresh connection, to see a renewed one. */
  certFailed = false;
  readonly #spec: HttpSpec;
  readonly #confirm: boolean;
  readonly #chunks: Buffer[] | undefined;
  readonly #limit: number;
  #bytes = 0;

  constructor(spec: HttpSpec, confirm: boolean) {
    this.#spec = spec;
    this.#confirm = confirm;
    const needsBody = spec.bodyContains !== undefined || spec.bodyNotContains !== undefined || spec.jsonAssertions !== undefined;
    this.#chunks = needsBody ? [] : undefined;
    this.#limit = needsBody ? BODY_LIMIT_BYTES : DUMP_LIMIT_BYTES;
  }

  /** Take a chunk of the body; true once enough is read to judge (close the connection then). */
  take(chunk: Buffer): boolean {
    const room = this.#limit - this.#bytes;
    this.#bytes += chunk.length;
    if (this.#chunks && room > 0) this.#chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
    return this.#bytes >= this.#limit;
  }

  /** Why the answer read so far means down, or undefined when it means up. */
  verdict(): string | undefined {
    const body = this.#chunks ? Buffer.concat(this.#chunks).toString('utf8') : undefined;
    const reason = judge(this.#spec, this.status, body, performance.now() - this.started, this.#bytes > this.#limit);
    if (reason !== undefined || this.certDates === undefined || this.#spec.certExpiryMs === undefined) return reason;
    const problem = certExpiryProblem(this.certDates, this.#spec.certExpiryMs, Date.now());
    this.certFailed = problem !== undefined;
    return problem;
  }

  result(ok: boolean, reason: string | undefined, skipped?: SkipReason): CheckResult {
    const result: CheckResult = { ok, latencyMs: performance.now() - this.started, at: this.at };
    if (this.status > 0) result.status = this.status;
    if (this.certDates !== undefined) result.certExpiresAt = this.certDates.validTo;
    if (this.location !== undefined && this.status >= 300 && this.status < 400) result.location = this.location;
    if (reason !== undefined) result.reason = reason;
    if (this.#confirm) result.confirm = true;
    if (skipped !== undefined) result.skipped = skipped;
    return result;
  }
}
