/**
 * What an HTTP answer means, whichever client fetched it (http-probe.ts on
 * node:http, http-undici.ts on undici): the request's headers, how much of a
 * body is read, and the judgement of status, body keywords and response time.
 */
import type { TargetSpec } from './target.ts';

const USER_AGENT = 'ch2-agent/0.1';
/** The most of a body read for `bodyContains` / `bodyNotContains`; the rest is not looked at. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** The most of a body read (and dropped) when no keyword is checked; beyond it the connection is closed. */
export const DUMP_LIMIT_BYTES = 256 * 1024;
export const HEADERS = { 'user-agent': USER_AGENT, accept: '*/*' };

export type HttpSpec = Pick<
  TargetSpec,
  'url' | 'timeoutMs' | 'connectTimeoutMs' | 'expectStatus' | 'bodyContains' | 'bodyNotContains' | 'maxResponseTimeMs'
>;

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
