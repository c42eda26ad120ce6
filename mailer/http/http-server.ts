/**
 * The mailer's HTTP side, behind its one port (intake/intake.ts hands it the
 * connections that speak HTTP): GET /healthz (503 "degraded" while the store
 * cannot be written), the alerts (alerts-route.ts; in batches,
 * alert-batch-route.ts), the agents' reports
 * (reports-route.ts) and, with --status-page, the hub's page and API
 * (mailer/hub/hub-routes.ts). An unknown path is a 404, a body over its
 * limit a 413 (request-body.ts). This room routes between the intake and
 * the hub, so neither imports the other. What a browser sends (the page's
 * paths, and the GETs of /alerts and /api/v1/agents) must name this mailer
 * in its Host (host-check.ts), or is a 421; the agents' POSTs and /healthz
 * are not checked. Refusal lines are throttled per peer (shared/throttled-log.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { peerHost } from '../../shared/peer-address.ts';
import { REFUSAL_LIMITS, ThrottledLog } from '../../shared/throttled-log.ts';
import { BATCH_ALERTS_PATH } from '../../shared/wire-batch.ts';
import { ALERTS_PATH, HEALTH_PATH } from '../../shared/wire-json.ts';
import { AGENTS_PATH } from '../hub/agents.ts';
import type { ReportReceiver } from '../hub/report-body.ts';
import type { Admissions } from '../intake/admission.ts';
import type { Store } from '../store/store.ts';
import { alertBatchRoute } from './alert-batch-route.ts';
import { alertsRoute } from './alerts-route.ts';
import { Deadlines } from './deadlines.ts';
import { type HostCheck, misdirected } from './host-check.ts';
import { PeerRate, type PeerRateOptions } from './peer-rate.ts';
import { REPORT_PATHS, reportRate as reportBucket, reportsRoute } from './reports-route.ts';
import { type BodyLimits, type BodyReader, readRequestBody } from './request-body.ts';
import { reply } from './reply.ts';

export type { BodyReader } from './request-body.ts';

export interface HttpServerOptions {
  maxBytes: number;
  idleTimeoutMs: number;
  admissions: Admissions;
  store: Store;
  /** Bearer token required on /alerts; none: open. */
  token?: string | undefined;
  log: Logger;
  health: () => Record<string, unknown>;
  /** The names a browser's Host may give (none: not checked). */
  hosts?: HostCheck | undefined;
  /** Reports a second from one address (--report-rate). */
  reportsPerSecond: number;
  /** The agents' hub: without one, its paths are 404s. */
  hub?: ReportReceiver | undefined;
  /** The status page's routes (mailer/hub/hub-routes.ts), given the request's body reader; none: --status-page off. */
  page?: ((readBody: BodyReader) => PageRouter) | undefined;
}

export interface PageRouter {
  handles(path: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams): Promise<void>;
}

export function createHttpServer(options: HttpServerOptions): Server {
  const deadlines = new Deadlines(options.idleTimeoutMs);
  const limits: BodyLimits = { idleTimeoutMs: options.idleTimeoutMs, deadlines };
  const refusals = new ThrottledLog(options.log, REFUSAL_LIMITS);
  const refuse = (req: IncomingMessage, error: string): void => {
    const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    refusals.warn(`Refused ${req.method} ${req.url?.slice(0, 100)} from ${peer}: ${error}`, { event: 'refused', via: 'page', peer }, peerHost(peer));
  };
  const reportOptions = reportBucket(options.reportsPerSecond);
  const reportRate = new PeerRate(reportOptions);
  const page = options.page?.((req, res, max) => readRequestBody(req, res, max, limits, (error) => refuse(req, error)));
  // No requestTimeout or headersTimeout: Node runs those timers only for a server that listens itself,
  // and this one never does (its connections come from the shared port). deadlines.ts does their work.
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    route(req, res, options, limits, page, { refusals, refuse, reportRate, reportOptions }).catch((err: unknown) => {
      options.log.error(`HTTP intake error: ${(err as Error).message}`);
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // A connection idle for --idle-timeout is closed; a request whose headers are
  // not in within --idle-timeout, or whose body is not in within three times that,
  // is closed too, so slow senders cannot hold connections and starve the intake.
  server.timeout = options.idleTimeoutMs;
  server.on('timeout', (socket: Socket) => socket.destroy());
  server.on('connection', (socket: Socket) => {
    socket.once('close', () => deadlines.unwatch(socket));
    deadlines.watch(socket);
  });
  // One listener for every response (`this` is the response): its socket waits for the next request's headers.
  const onFinish = function (this: ServerResponse): void {
    deadlines.idle(this.req.socket);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    deadlines.headersIn(req.socket);
    res.on('finish', onFinish);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpServerOptions,
  limits: BodyLimits,
  page: PageRouter | undefined,
  { refusals, refuse, reportRate, reportOptions }: { refusals: ThrottledLog; refuse: (req: IncomingMessage, error: string) => void; reportRate: PeerRate; reportOptions: PeerRateOptions },
): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  if (path === HEALTH_PATH) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    const health = { status: 'ok', ...options.health() };
    return reply(res, health.status === 'ok' ? 200 : 503, health);
  }
  const browsers = page?.handles(path) || ((path === ALERTS_PATH || path === AGENTS_PATH) && req.method === 'GET');
  if (browsers && options.hosts && !options.hosts.allows(req.headers.host)) {
    req.resume();
    refuse(req, `Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not this mailer's`);
    return reply(res, 421, misdirected(req.headers.host));
  }
  // With the status page on, GET /api/v1/agents is one of its API's reads, under its access rules.
  if (page && path === AGENTS_PATH && req.method === 'GET') return page.serve(req, res, path, new URLSearchParams());
  if (options.hub && REPORT_PATHS.includes(path)) return reportsRoute(path, req, res, { ...limits, token: options.token, log: options.log, refusals, rate: reportRate, rateOptions: reportOptions }, options.hub, peer);
  if (page?.handles(path)) return page.serve(req, res, path, new URLSearchParams(query < 0 ? '' : url.slice(query + 1)));
  if (path === BATCH_ALERTS_PATH) return alertBatchRoute(req, res, { ...limits, maxBytes: options.maxBytes, admissions: options.admissions, token: options.token, log: options.log }, peer);
  if (path === ALERTS_PATH) return alertsRoute(req, res, { ...limits, maxBytes: options.maxBytes, admissions: options.admissions, store: options.store, token: options.token, log: options.log }, peer);
  req.resume();
  return reply(res, 404, { error: `no such path: ${path.slice(0, 100)}; use POST ${ALERTS_PATH}` });
}
