/**
 * The hub's paths for agents (mailer/hub/): POST /api/v1/reports takes an
 * agent's report (gzip allowed; 202, 400 with the reason, 413 over
 * REPORT_MAX_BYTES, compressed or not) and GET /api/v1/agents lists the
 * agents; the token and loopback rules are those of /alerts. Reports are
 * rate-limited per peer address (--report-rate n: a burst of 4n, then n a
 * second, 5 by default; more is a 429 with Retry-After, before the body is read), and
 * each refusal line is throttled per peer (shared/throttled-log.ts REFUSAL_LIMITS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { REPORT_MAX_BYTES, REPORTS_PATH } from '../../shared/wire-report.ts';
import { AGENTS_PATH } from '../hub/agents.ts';
import { acceptReport, type ReportReceiver } from '../hub/report-body.ts';
import { isLoopback, peerHost } from '../../shared/peer-address.ts';
import type { ThrottledLog } from '../../shared/throttled-log.ts';
import { authorized, BEARER_CHALLENGE, UNAUTHORIZED } from './bearer.ts';
import type { PeerRate, PeerRateOptions } from './peer-rate.ts';
import { type BodyLimits, readRequestBody } from './request-body.ts';
import { reply } from './reply.ts';

export interface ReportsRouteOptions extends BodyLimits {
  token?: string | undefined;
  log: Logger;
  /** Where refusal lines go, throttled per peer. */
  refusals: ThrottledLog;
  /** Reports per peer address (one per server: reportRate()). */
  rate: PeerRate;
  /** Its settings, for the refusal line. */
  rateOptions: PeerRateOptions;
}

/** The bucket of --report-rate n: a burst of 4n, then n a second. */
export function reportRate(perSecond: number): PeerRateOptions {
  return { burst: 4 * perSecond, perSecond };
}

export const REPORT_PATHS: readonly string[] = [REPORTS_PATH, AGENTS_PATH];

export async function reportsRoute(path: string, req: IncomingMessage, res: ServerResponse, options: ReportsRouteOptions, hub: ReportReceiver, peer: string): Promise<void> {
  const method = path === REPORTS_PATH ? 'POST' : 'GET';
  const refuse = (error: string): void => options.refusals.warn(`Refused ${method} ${path} from ${peer}: ${error}`, { event: 'refused', via: 'hub', peer }, peerHost(peer));
  if (req.method !== method) {
    req.resume();
    return reply(res, 405, { error: `use ${method} ${path}` }, { allow: method });
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    req.resume();
    refuse(UNAUTHORIZED.error);
    return reply(res, 401, UNAUTHORIZED, BEARER_CHALLENGE);
  }
  if (method === 'GET') {
    req.resume();
    if (options.token === undefined && !isLoopback(req.socket.remoteAddress)) {
      refuse('a non-loopback peer without --token');
      return reply(res, 403, { error: `without --token, GET ${AGENTS_PATH} answers loopback only; start the mailer with --token` });
    }
    return reply(res, 200, hub.agents());
  }
  const wait = options.rate.take(peerHost(peer));
  if (wait > 0) {
    req.resume();
    refuse(`over ${options.rateOptions.burst} reports at once, or ${options.rateOptions.perSecond} a second, from one address (--report-rate)`);
    return reply(res, 429, { error: `too many reports from this address; retry in ${wait}s` }, { 'retry-after': String(wait) });
  }
  const body = await readRequestBody(req, res, REPORT_MAX_BYTES, options, refuse);
  if (body === undefined) return;
  const answer = await acceptReport(body, req.headers['content-encoding'], hub);
  if (answer.status !== 202 && 'error' in answer.body) refuse(answer.body.error);
  if (answer.status === 413) res.setHeader('connection', 'close');
  return reply(res, answer.status, answer.body);
}
