/**
 * One HTTP check of one target: GET, then the status, the body keywords and
 * the response time decide. Normal checks go over the shared, kept-alive pool
 * (http-connections.ts); a confirming check opens a fresh connection with a
 * short connect timeout, so a dead address is confirmed in a fraction of the
 * usual connect timeout.
 *
 * It uses undici's low-level `dispatch` with a small handler rather than
 * `request`: no stream, promise chain or AbortController per check, which
 * keeps the garbage (and so the memory) of thousands of checks a second low.
 */
import { Client, type Dispatcher } from 'undici';
import type { CheckMode, CheckResult, Probe } from './probe.ts';
import { describeFailure } from './probe.ts';
import type { TargetSpec } from './target.ts';

const USER_AGENT = 'ch2-agent/0.1';
/** The most of a body read for `bodyContains` / `bodyNotContains`; the rest is not looked at. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The most of a body read (and dropped) when no keyword is checked; beyond it the connection is closed. */
const DUMP_LIMIT_BYTES = 256 * 1024;
const HEADERS = { 'user-agent': USER_AGENT, accept: '*/*' };

type HttpSpec = Pick<
  TargetSpec,
  'url' | 'timeoutMs' | 'connectTimeoutMs' | 'expectStatus' | 'bodyContains' | 'bodyNotContains' | 'maxResponseTimeMs'
>;

class CheckTimeout extends Error {
  override name = 'TimeoutError';
}
class EnoughRead extends Error {
  override name = 'EnoughRead';
}

export function createHttpProbe(spec: HttpSpec, dispatcher: Dispatcher): Probe {
  const needsBody = spec.bodyContains !== undefined || spec.bodyNotContains !== undefined;
  const limit = needsBody ? BODY_LIMIT_BYTES : DUMP_LIMIT_BYTES;
  const origin = spec.url.origin;
  const path = `${spec.url.pathname}${spec.url.search}`;
  const timeoutMs = spec.timeoutMs;

  return {
    check(mode: CheckMode = 'normal', confirmConnectTimeoutMs = spec.connectTimeoutMs): Promise<CheckResult> {
      const confirm = mode === 'confirm';
      const connectTimeoutMs = confirm ? Math.min(confirmConnectTimeoutMs, spec.connectTimeoutMs) : spec.connectTimeoutMs;
      return new Promise((resolve) => {
        const started = performance.now();
        const at = Date.now();
        const fresh = confirm ? new Client(origin, { connect: { timeout: connectTimeoutMs }, pipelining: 1 }) : undefined;
        let controller: Dispatcher.DispatchController | undefined;
        let status = 0;
        let bytes = 0;
        const chunks: Buffer[] | undefined = needsBody ? [] : undefined;
        let done = false;

        const finish = (ok: boolean, reason: string | undefined): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (fresh) void fresh.destroy().catch(() => {});
          const result: CheckResult = { ok, latencyMs: performance.now() - started, at };
          if (status > 0) result.status = status;
          if (reason !== undefined) result.reason = reason;
          if (confirm) result.confirm = true;
          resolve(result);
        };
        const answered = (): void => {
          const latencyMs = performance.now() - started;
          const body = chunks ? Buffer.concat(chunks).toString('utf8') : undefined;
          const reason = judge(spec, status, body, latencyMs);
          finish(reason === undefined, reason);
        };
        const timer = setTimeout(() => {
          controller?.abort(new CheckTimeout(`timeout after ${timeoutMs}ms`));
          finish(false, `timeout after ${timeoutMs}ms`);
        }, timeoutMs);

        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(c) {
            controller = c;
            if (done) c.abort(new CheckTimeout(`timeout after ${timeoutMs}ms`));
          },
          onResponseStart(_c, statusCode) {
            if (statusCode >= 200) status = statusCode;
          },
          onResponseData(c, chunk) {
            if (done) return;
            const room = limit - bytes;
            bytes += chunk.length;
            if (chunks && room > 0) chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
            if (bytes >= limit) {
              // Enough to judge; closing the connection beats reading a huge body.
              answered();
              c.abort(new EnoughRead('enough of the body read'));
            }
          },
          onResponseEnd() {
            answered();
          },
          onResponseError(_c, err) {
            finish(false, describeFailure(err, { timeoutMs, connectTimeoutMs }));
          },
        };
        try {
          (fresh ?? dispatcher).dispatch({ origin, path, method: 'GET', headers: HEADERS, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler);
        } catch (err) {
          finish(false, describeFailure(err, { timeoutMs, connectTimeoutMs }));
        }
      });
    },
  };
}

/** Why an answer means down, or undefined when it means up. */
export function judge(spec: HttpSpec, status: number, body: string | undefined, latencyMs: number): string | undefined {
  if (!spec.expectStatus(status)) return `HTTP ${status}`;
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
