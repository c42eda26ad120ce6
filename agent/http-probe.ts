/**
 * One HTTP check of one target with undici: GET, then the status, the body
 * keywords and the response time decide. Normal checks go over the shared,
 * kept-alive pool (http-connections.ts); a confirming check opens a fresh
 * connection with a short connect timeout, so a dead address is confirmed in
 * a fraction of the usual connect timeout.
 */
import { Client, type Dispatcher, request } from 'undici';
import type { CheckMode, CheckResult, Probe } from './probe.ts';
import { describeFailure } from './probe.ts';
import type { TargetSpec } from './target.ts';

const USER_AGENT = 'ch2-agent/0.1';
/** The most of a body read for `bodyContains` / `bodyNotContains`. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The most of a body read (and dropped) when no keyword is checked. */
const DUMP_LIMIT_BYTES = 256 * 1024;
const HEADERS = { 'user-agent': USER_AGENT, accept: '*/*' };

type HttpSpec = Pick<
  TargetSpec,
  'url' | 'timeoutMs' | 'connectTimeoutMs' | 'expectStatus' | 'bodyContains' | 'bodyNotContains' | 'maxResponseTimeMs'
>;

export function createHttpProbe(spec: HttpSpec, dispatcher: Dispatcher): Probe {
  const needsBody = spec.bodyContains !== undefined || spec.bodyNotContains !== undefined;
  const href = spec.url.href;
  return {
    async check(mode: CheckMode = 'normal', confirmConnectTimeoutMs = spec.connectTimeoutMs): Promise<CheckResult> {
      const confirm = mode === 'confirm';
      const connectTimeoutMs = confirm ? Math.min(confirmConnectTimeoutMs, spec.connectTimeoutMs) : spec.connectTimeoutMs;
      const fresh = confirm ? new Client(spec.url.origin, { connect: { timeout: connectTimeoutMs }, pipelining: 1 }) : undefined;
      const started = performance.now();
      const at = Date.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), spec.timeoutMs);
      try {
        const res = await request(href, {
          dispatcher: fresh ?? dispatcher,
          method: 'GET',
          headers: HEADERS,
          signal: controller.signal,
          headersTimeout: spec.timeoutMs,
          bodyTimeout: spec.timeoutMs,
        });
        const body = needsBody ? await readText(res.body, BODY_LIMIT_BYTES) : undefined;
        if (!needsBody) await res.body.dump({ limit: DUMP_LIMIT_BYTES });
        const latencyMs = performance.now() - started;
        const status = res.statusCode;
        const reason = judge(spec, status, body, latencyMs);
        return reason === undefined
          ? { ok: true, status, latencyMs, at, ...(confirm ? { confirm } : {}) }
          : { ok: false, status, reason, latencyMs, at, ...(confirm ? { confirm } : {}) };
      } catch (err) {
        const reason = describeFailure(err, { timeoutMs: spec.timeoutMs, connectTimeoutMs });
        return { ok: false, reason, latencyMs: performance.now() - started, at, ...(confirm ? { confirm } : {}) };
      } finally {
        clearTimeout(timer);
        if (fresh) void fresh.destroy().catch(() => {});
      }
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

/** The first `limit` bytes of a body as text (a longer body's connection is closed). */
async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let text = '';
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const part = bytes + chunk.length > limit ? chunk.subarray(0, limit - bytes) : chunk;
    bytes += part.length;
    text += decoder.decode(part, { stream: true });
    if (bytes >= limit) break;
  }
  return text + decoder.decode();
}
