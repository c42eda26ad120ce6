/**
 * `ch2-mailer healthcheck`: the image's HEALTHCHECK. It asks the running mailer
 * for /healthz. Docker runs it without the container's arguments (env vars
 * reach it), so the mailer, once listening, writes where it listens into its
 * store folder (LISTENING_FILE), and the healthcheck reads it there: the store
 * as its own flags, STORE_DIR or the default say, its own --port/--bind (PORT,
 * BIND_ADDRESS) only when the store holds no such file. Nothing depends on
 * which process is PID 1 or on re-reading the mailer's command line. With
 * --tls-cert the file says `"tls": true` and the question goes over HTTPS,
 * the certificate not checked (a loopback liveness probe, not a peer to trust).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { HEALTH_PATH } from '../shared/wire-json.ts';

/** The file in the store folder that says where its mailer listens: {"port": 33333, "bind": "0.0.0.0"}. */
export const LISTENING_FILE = 'listening.json';

export interface Listening {
  port: number;
  bind: string;
  /** The port speaks HTTPS (--tls-cert). */
  tls?: boolean;
}

/** Written once the mailer listens, atomically (a temporary file renamed over it); throws on a write error. */
export function writeListening(store: string, where: Listening): void {
  const file = join(store, LISTENING_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ port: where.port, bind: where.bind, ...(where.tls ? { tls: true } : {}) })}\n`);
  renameSync(temporary, file);
}

/** Where the mailer of this store said it listens; undefined without the file, or with one that is not such a record. */
export function readListening(store: string): Listening | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(join(store, LISTENING_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { port, bind, tls } = value as Record<string, unknown>;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) return undefined;
  if (typeof bind !== 'string' || isIP(bind) === 0) return undefined;
  return { port: port as number, bind, ...(tls === true ? { tls: true } : {}) };
}

/** Where to ask: what the store's mailer wrote, else the healthcheck's own --port and --bind. */
export function healthcheckTarget(own: Listening & { store: string }): Listening {
  return readListening(own.store) ?? { port: own.port, bind: own.bind };
}

export function healthcheck(port: number, bind = '0.0.0.0', timeoutMs = 2000, tls = false): Promise<number> {
  const host = bind === '0.0.0.0' || bind === '::' || bind === '' ? '127.0.0.1' : bind;
  return new Promise((resolve) => {
    const ask = tls ? httpsRequest : request;
    const req = ask({ host, port, path: HEALTH_PATH, timeout: timeoutMs, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
      res.resume();
      process.stdout.write(`healthz: HTTP ${res.statusCode}\n`);
      resolve(res.statusCode === 200 ? 0 : 1);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (err) => {
      process.stdout.write(`healthz: ${err.message}\n`);
      resolve(1);
    });
    req.end();
  });
}
