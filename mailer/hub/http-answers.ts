/**
 * How the status page's routes answer (hub-routes.ts): HTML under a strict
 * Content-Security-Policy (only the page's own script and style files, and
 * its one inline stylesheet by hash), JSON, SVG,
 * redirects; bodies over GZIP_OVER gzipped for a client that takes it; and
 * the small readers of a request's parts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { STATUS_CSS_HASH } from './page/page-style.ts';

const CSP = `default-src 'none'; script-src 'self'; style-src 'self' '${STATUS_CSS_HASH}'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Only a path on this host: never `//other` or a scheme. */
export function localPath(next: string): string {
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';
}

/**
 * Every answer here closes its connection: a browser that reuses an idle
 * kept-alive connection just as the mailer closes it (the intake's idle
 * deadline) gets a reset and logs a failed load; the page's few requests
 * (the event stream keeps its own connection) lose nothing by a fresh one.
 */
/** Bodies over this are gzipped for a client that takes it (a page of 50 targets' bars is ~700 KB of HTML, ~20 KB gzipped). */
const GZIP_OVER = 8 * 1024;

export function send(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  const gzip = body.length > GZIP_OVER && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const bytes = gzip ? gzipSync(body, { level: 4 }) : Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': bytes.length, 'x-content-type-options': 'nosniff', vary: 'accept-encoding', connection: 'close', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

export function page(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  send(req, res, status, body, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': CSP, 'referrer-policy': 'no-referrer', ...headers });
}

export function json(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  send(req, res, status, JSON.stringify(body), { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
}

export function redirect(res: ServerResponse, to: string, headers?: Record<string, string>): void {
  res.writeHead(303, { location: to, 'content-length': 0, ...headers });
  res.end();
}
