/**
 * The agent's `--metrics-port` server, on node:http (no other dependency):
 *
 *   GET /metrics   200, Prometheus text format 0.0.4
 *                  (content-type `text/plain; version=0.0.4; charset=utf-8`): the text of
 *                  `metrics.render()`, or of `metrics.chunks()` when the source has it (a
 *                  Metrics does). Up to 256 KiB is sent whole with a content-length;
 *                  more is streamed (chunked encoding) with a turn of the event loop
 *                  between pieces, so thousands of targets never stall the checks during
 *                  a scrape. Gzipped when the scraper accepts gzip (Prometheus does) and
 *                  the body is streamed or at least 16 KiB.
 *   GET /healthz   200, `health()` as JSON (content-type `application/json`)
 *   HEAD on both   200 with the content type, no body (nothing is rendered)
 *   other paths    404; other methods on both paths: 405 with `Allow: GET, HEAD`
 *   a render or health() that throws before the first byte: 500, logged with log.error;
 *   after it (while streaming): the connection is cut, logged
 *
 * The query string is ignored. Request bodies are never read: a request that
 * announces one is answered and its connection closed. A request must arrive
 * within `requestTimeoutMs` (default 5 s; else 408 and close), headers are at
 * most 8 KiB (else 431), malformed requests get 400, idle keep-alive
 * connections close after 5 s, and at most `maxConnections` (default 32) are
 * open at once.
 *
 *   const { startMetricsServer } = await import('./metrics-server.ts');
 *   const server = await startMetricsServer({ port: 9100, metrics, health: () => ({ ok: true }), log });
 *   server.port;          // the bound port (useful with port 0)
 *   await server.close(); // stops listening and drops open connections
 *
 * `host` defaults to 0.0.0.0 (every IPv4 address, as a container needs). The
 * promise rejects with a MetricsServerError (its `code` is the system code) if
 * the port cannot be bound: "metrics: port 9100 already in use" (EADDRINUSE),
 * "metrics: no permission to listen on port 80" (EACCES), "metrics: address
 * 10.9.9.9 is not available here" (EADDRNOTAVAIL), and a RangeError-like
 * message for a port outside 0-65535.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../shared/logger.ts';

export interface MetricsSource {
  render(): string;
  /** The same text in pieces (Metrics.chunks); when present, large expositions are streamed. */
  chunks?(): Iterable<string>;
}

export interface MetricsServerOptions {
  /** 0 picks a free port (see the result's `port`). */
  port: number;
  /** Default '0.0.0.0'. */
  host?: string;
  metrics: MetricsSource;
  /** The /healthz body; called per request. */
  health: () => object;
  log?: Pick<Logger, 'debug' | 'error'>;
  /** Time for a request's headers to arrive; default 5000 ms. */
  requestTimeoutMs?: number;
  /** Most connections open at once; default 32. */
  maxConnections?: number;
}

export interface MetricsServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export class MetricsServerError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'MetricsServerError';
    this.code = code;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Bodies smaller than this are sent as they are, even to a gzip-accepting scraper. */
const GZIP_MIN_BYTES = 16 * 1024;
/** Expositions longer than this (in UTF-16 units, about bytes) are streamed in pieces. */
const STREAM_FROM_BYTES = 256 * 1024;

export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '0.0.0.0';
  const { port, metrics, health, log } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new MetricsServerError(`metrics: port must be an integer from 0 to 65535, got ${String(port)}`, 'ERR_SOCKET_BAD_PORT'));
  }
  const timeoutMs = options.requestTimeoutMs ?? 5000;

  const server = createServer(
    {
      requestTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      // How often stalled requests are looked for (Node's default is 30 s).
      connectionsCheckingInterval: Math.min(1000, timeoutMs),
      keepAliveTimeout: 5000,
      maxHeaderSize: 8 * 1024,
    },
    (req, res) => {
      void handle(req, res).catch((err: unknown) => {
        log?.error(`metrics: ${(err as Error).message ?? String(err)}`, { event: 'metrics-error' });
        if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.maxConnections = options.maxConnections ?? 32;
  server.maxRequestsPerSocket = 100;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || socket.writableEnded) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (hasBody(req)) res.setHeader('connection', 'close');
    if (path !== '/metrics' && path !== '/healthz') {
      send(req, res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      res.setHeader('connection', 'close');
      send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      send(req, res, 200, 'application/json', `${JSON.stringify(health())}\n`);
      return;
    }
    if (req.method === 'HEAD') {
      send(req, res, 200, METRICS_CONTENT_TYPE, '');
      return;
    }
    await sendMetrics(req, res, metrics, log);
  }

  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new MetricsServerError(describeListenError(err, port, host), err.code));
    };
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      server.on('error', (err) => log?.error(`metrics: ${err.message}`, { event: 'metrics-error' }));
      const bound = (server.address() as AddressInfo).port;
      log?.debug(`Metrics on http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`, { event: 'metrics', host, port: bound });
      let closing: Promise<void> | undefined;
      resolve({
        port: bound,
        host,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

/**
 * Up to STREAM_FROM_BYTES of text: sent whole with a content-length (gzipped
 * when at least GZIP_MIN_BYTES and accepted). More: streamed with chunked
 * encoding (through gzip when accepted), a turn of the event loop between
 * pieces. A failure before the first byte is a 500 (the caller's catch);
 * after it, the connection is cut.
 */
async function sendMetrics(req: IncomingMessage, res: ServerResponse, metrics: MetricsSource, log: MetricsServerOptions['log']): Promise<void> {
  const pieces = (metrics.chunks ? metrics.chunks() : [metrics.render()])[Symbol.iterator]();
  const head: string[] = [];
  let headLength = 0;
  let next = pieces.next();
  while (!next.done && headLength < STREAM_FROM_BYTES) {
    head.push(next.value);
    headLength += next.value.length;
    next = pieces.next();
  }
  const gzipOk = acceptsGzip(req);
  if (next.done) {
    const body = Buffer.from(head.join(''), 'utf8');
    if (body.length >= GZIP_MIN_BYTES && gzipOk) {
      const { gzip } = await import('node:zlib');
      const zipped = await new Promise<Buffer>((resolve, reject) => gzip(body, { level: 1 }, (err, out) => (err ? reject(err) : resolve(out))));
      res.setHeader('content-encoding', 'gzip');
      res.setHeader('vary', 'accept-encoding');
      send(req, res, 200, METRICS_CONTENT_TYPE, zipped);
      return;
    }
    send(req, res, 200, METRICS_CONTENT_TYPE, body);
    return;
  }
  const first = next;
  async function* paced(): AsyncGenerator<string> {
    yield head.join('');
    await setImmediatePromise();
    yield first.value as string;
    for (let piece = pieces.next(); !piece.done; piece = pieces.next()) {
      await setImmediatePromise();
      yield piece.value;
    }
  }
  const headers: Record<string, string> = { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' };
  if (gzipOk) {
    headers['content-encoding'] = 'gzip';
    headers.vary = 'accept-encoding';
  }
  res.writeHead(200, headers);
  const source = Readable.from(paced(), { objectMode: false });
  try {
    if (gzipOk) {
      const { createGzip } = await import('node:zlib');
      await pipeline(source, createGzip({ level: 1 }), res);
    } else {
      await pipeline(source, res);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      log?.error(`metrics: ${(err as Error).message ?? String(err)}`, { event: 'metrics-error' });
    }
    res.destroy();
  }
}

function setImmediatePromise(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length, 'cache-control': 'no-store' });
  if (req.method === 'HEAD') res.end();
  else res.end(bytes);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function acceptsGzip(req: IncomingMessage): boolean {
  const accept = req.headers['accept-encoding'];
  if (typeof accept !== 'string') return false;
  return accept.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function describeListenError(err: NodeJS.ErrnoException, port: number, host: string): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `metrics: port ${port} already in use`;
    case 'EACCES':
      return `metrics: no permission to listen on port ${port}`;
    case 'EADDRNOTAVAIL':
      return `metrics: address ${host} is not available here`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `metrics: host ${host} not found`;
    default:
      return `metrics: cannot listen on ${host}:${port}: ${err.message}`;
  }
}
