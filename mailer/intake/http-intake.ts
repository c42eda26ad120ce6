/**
 * ch2's JSON protocol: POST /alerts (answered 202 {"id"} once the alert is
 * committed to the spool), GET /alerts?state=pending|dead|sent (what is still
 * owed, given up on, delivered; paged, newest first), GET /healthz (503
 * "degraded" while the spool cannot be written). Bad JSON is a 400 with the reason, a body over
 * --max-bytes a 413, an unknown path a 404, a refused recipient a 403, a
 * missing or wrong bearer token (with --token) a 401, a spool that cannot
 * be written a 503 (the sender keeps the alert and retries). Without --token,
 * GET /alerts (which shows every alert's content) answers loopback peers only
 * and is a 403 for others.
 *
 * The hub (mailer/hub/): POST /api/v1/reports takes an agent's report (gzip
 * allowed; 202, 400 with the reason, 413 over REPORT_MAX_BYTES, compressed or
 * not) and GET /api/v1/agents lists the agents; the token and loopback rules
 * are those of /alerts.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { ALERTS_PATH, HEALTH_PATH, parseAlertJson } from '../../shared/wire-json.ts';
import { REPORT_MAX_BYTES, REPORTS_PATH } from '../../shared/wire-report.ts';
import type { Hub } from '../hub/agent-silence.ts';
import { AGENTS_PATH } from '../hub/agents.ts';
import { acceptReport } from '../hub/report-body.ts';
import type { Admissions } from './admission.ts';
import { Deadlines } from './deadlines.ts';
import { hostAddress } from './connection-limits.ts';
import { LIST_STATES, type ListState, type Store } from '../store/store.ts';

export interface HttpIntakeOptions {
  maxBytes: number;
  idleTimeoutMs: number;
  admissions: Admissions;
  store: Store;
  /** Bearer token required on /alerts; none: open. */
  token?: string | undefined;
  log: Logger;
  health: () => Record<string, unknown>;
  /** The agents' hub: without one, its paths are 404s. */
  hub?: Hub | undefined;
  /** The status page's routes (mailer/hub/hub-routes.ts), given the request's body reader; none: --status-page off. */
  page?: ((readBody: BodyReader) => PageRouter) | undefined;
}

export type BodyReader = (req: IncomingMessage, res: ServerResponse, max: number) => Promise<Buffer | undefined>;

export interface PageRouter {
  handles(path: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams): Promise<void>;
}

export function createHttpIntake(options: HttpIntakeOptions): Server {
  const deadlines = new Deadlines(options.idleTimeoutMs);
  const page = options.page?.((req, res, max) => readRequestBody(req, res, max, options, deadlines, (error) => options.log.warn(`Refused ${req.method} ${req.url?.slice(0, 100)}: ${error}`, { event: 'refused', via: 'page' })));
  const server = createServer({ requestTimeout: options.idleTimeoutMs * 3, headersTimeout: options.idleTimeoutMs, keepAliveTimeout: 5000 }, (req, res) => {
    route(req, res, options, deadlines, page).catch((err: unknown) => {
      options.log.error(`HTTP intake error: ${(err as Error).message}`);
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Connections reach this server from the shared port (it never listens), so
  // Node's own header and request timers do not run: these deadlines do their work.
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


function reply(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  const head = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  res.writeHead(status, headers ? { ...head, ...headers } : head);
  res.end(text);
}

async function route(req: IncomingMessage, res: ServerResponse, options: HttpIntakeOptions, deadlines: Deadlines, page: PageRouter | undefined): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  if (path === HEALTH_PATH) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    const health = { status: 'ok', ...options.health() };
    return reply(res, health.status === 'ok' ? 200 : 503, health);
  }
  // With the status page on, GET /api/v1/agents is one of its API's reads, under its access rules.
  if (page && path === AGENTS_PATH && req.method === 'GET') return page.serve(req, res, path, new URLSearchParams());
  if (options.hub && (path === REPORTS_PATH || path === AGENTS_PATH)) return hubRoute(path, req, res, options, options.hub, deadlines, peer);
  if (page?.handles(path)) return page.serve(req, res, path, new URLSearchParams(query < 0 ? '' : url.slice(query + 1)));
  if (path !== ALERTS_PATH) {
    req.resume();
    return reply(res, 404, { error: `no such path: ${path?.slice(0, 100)}; use POST ${ALERTS_PATH}` });
  }
  if (req.method !== 'POST' && req.method !== 'GET') {
    req.resume();
    return reply(res, 405, { error: `use POST ${ALERTS_PATH} (or GET ${ALERTS_PATH}?state=pending|dead|sent)` }, { allow: 'GET, POST' });
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    req.resume();
    options.admissions.reject('json', peer, 'missing or wrong bearer token');
    return reply(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="ch2-mailer"' });
  }
  if (req.method === 'GET') {
    req.resume();
    if (options.token === undefined && !isLoopback(req.socket.remoteAddress)) {
      options.admissions.reject('json', peer, `GET ${ALERTS_PATH} from a non-loopback peer without --token`);
      return reply(res, 403, { error: `without --token, GET ${ALERTS_PATH} answers loopback only; start the mailer with --token` });
    }
    return listAlerts(req.url ?? '/', res, options.store);
  }
  const body = await readRequestBody(req, res, options.maxBytes, options, deadlines, (error) => options.admissions.reject('json', peer, error));
  if (body === undefined) return;
  const parsed = parseAlertJson(body);
  if (!parsed.ok) {
    options.admissions.reject('json', peer, parsed.error);
    return reply(res, 400, { error: parsed.error });
  }
  let admission;
  try {
    admission = await options.admissions.admitJson(parsed.value, peer);
  } catch (err) {
    // The store logs when writes start and stop failing; one line per refused request would flood the log.
    options.log.debug(`Cannot keep alert from ${peer} in the spool: ${(err as Error).message}; answered 503 so the sender retries.`, { event: 'spool-error' });
    return reply(res, 503, { error: 'cannot write the spool; retry later' }, { 'retry-after': '5' });
  }
  if (!admission.ok) return reply(res, admission.code === 'recipient' ? 403 : 400, { error: admission.error });
  return reply(res, 202, admission.duplicate ? { id: admission.id, duplicate: true } : { id: admission.id });
}

/** The body, at most `max` bytes, or undefined once a 413 or 408 has been answered (`refuse` told why). */
async function readRequestBody(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
  options: HttpIntakeOptions,
  deadlines: Deadlines,
  refuse: (error: string) => void,
): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) {
    refuse(`body of ${declared} bytes is over the ${max}-byte limit`);
    res.setHeader('connection', 'close');
    reply(res, 413, { error: `body over the ${max}-byte limit` });
    req.destroy();
    return undefined;
  }
  const body = await readBody(req, max, options.idleTimeoutMs * 3, deadlines);
  if (body === 'late') {
    refuse(`body not received within ${Math.round((options.idleTimeoutMs * 3) / 1000)}s`);
    res.setHeader('connection', 'close');
    reply(res, 408, { error: 'body not received in time' });
    req.destroy();
    return undefined;
  }
  if (body === undefined) {
    refuse(`body over the ${max}-byte limit`);
    res.setHeader('connection', 'close');
    reply(res, 413, { error: `body over the ${max}-byte limit` });
    return undefined;
  }
  return body;
}

/** POST /api/v1/reports and GET /api/v1/agents: the token rule of /alerts; without a token the list answers loopback peers only. */
async function hubRoute(path: string, req: IncomingMessage, res: ServerResponse, options: HttpIntakeOptions, hub: Hub, deadlines: Deadlines, peer: string): Promise<void> {
  const method = path === REPORTS_PATH ? 'POST' : 'GET';
  const refuse = (error: string): void => options.log.warn(`Refused ${method} ${path} from ${peer}: ${error}`, { event: 'refused', via: 'hub', peer });
  if (req.method !== method) {
    req.resume();
    return reply(res, 405, { error: `use ${method} ${path}` }, { allow: method });
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    req.resume();
    refuse('missing or wrong bearer token');
    return reply(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="ch2-mailer"' });
  }
  if (method === 'GET') {
    req.resume();
    if (options.token === undefined && !isLoopback(req.socket.remoteAddress)) {
      refuse('a non-loopback peer without --token');
      return reply(res, 403, { error: `without --token, GET ${AGENTS_PATH} answers loopback only; start the mailer with --token` });
    }
    return reply(res, 200, hub.agents());
  }
  const body = await readRequestBody(req, res, REPORT_MAX_BYTES, options, deadlines, refuse);
  if (body === undefined) return;
  const answer = await acceptReport(body, req.headers['content-encoding'], hub);
  if (answer.status !== 202 && 'error' in answer.body) refuse(answer.body.error);
  if (answer.status === 413) res.setHeader('connection', 'close');
  return reply(res, answer.status, answer.body);
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
function isLoopback(address: string | undefined): boolean {
  const ip = hostAddress(address);
  return ip === '::1' || /^127\.\d+\.\d+\.\d+$/.test(ip);
}

function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** GET /alerts?state=pending|dead|sent[&limit=n][&cursor=c]: one page, newest first; `next` is the cursor of the next page. */
async function listAlerts(url: string, res: ServerResponse, store: Store): Promise<void> {
  const query = new URL(url, 'http://mailer').searchParams;
  const state = query.get('state') ?? '';
  if (!(LIST_STATES as readonly string[]).includes(state)) {
    return reply(res, 400, { error: `state must be one of ${LIST_STATES.join(', ')}` });
  }
  const limitText = query.get('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) return reply(res, 400, { error: 'limit must be an integer from 1 to 1000' });
  const cursor = query.get('cursor') ?? undefined;
  if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) return reply(res, 400, { error: 'cursor must be the "next" of a previous page' });
  return reply(res, 200, await store.list({ state: state as ListState, limit, cursor }));
}

/** The whole body; undefined once it passes `max` bytes; 'late' when not in within `deadlineMs`. */
function readBody(req: IncomingMessage, max: number, deadlineMs: number, deadlines: Deadlines): Promise<Buffer | undefined | 'late'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Given up on with the connection: a closed connection's body is never late.
    deadlines.readingBody(req, deadlineMs, resolve);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        deadlines.bodyDone(req);
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      deadlines.bodyDone(req);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); // most bodies come in one chunk
    });
    req.on('error', reject);
  });
}
