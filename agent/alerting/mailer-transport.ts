/**
 * One HTTP request to a mailer: the alerts' and reports' POSTs, the token
 * check's HEAD, the raw reset's GET /healthz. Over node:http, or node:https
 * for an `https://` mailer, which trusts Node's public roots plus the CA of
 * `--mailer-ca` (the checks' trust, agent/checks/tls-trust.ts: one TLS
 * context per CA file) and verifies the mailer's certificate and name.
 * node:https loads only for an https:// mailer.
 *
 * Alerts are rare, so each request opens its own connection (`Connection:
 * close`): no kept-alive connection to the mailer can go stale between two
 * alerts. A request fails after `timeoutMs` in all, or after
 * `connectTimeoutMs` without a connection (by default the same: with
 * several mailers, a shorter one lets an alert move on to the next one soon).
 * A failed request forgets the mailer's address (lookup.ts), so the next one
 * looks it up again.
 */
import { CONNECT_TIMEOUT_CODE } from '../../shared/net-errors.ts';
import type { LinkEndpoint } from '../../shared/legacy-links.ts';
import { tlsTrustOf } from '../checks/tls-trust.ts';
import { forgetAddress, keptLookup } from '../lookup.ts';

/** A mailer to talk to: its address, over TLS or not, and the CA of --mailer-ca. */
export interface MailerEndpoint extends LinkEndpoint {
  tls?: boolean;
  caFile?: string;
  caPem?: string;
}

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

// Not an ESM import of node:http: see http-connections.ts (its namespace costs ~14 MB of RSS).
const http = process.getBuiltinModule('node:http');

/** One connection per request, closed after the answer: plain, and per CA for TLS. */
let plainAgent: InstanceType<typeof http.Agent> | undefined;
const tlsAgents = new Map<string, InstanceType<typeof http.Agent>>();

function agentFor(mailer: MailerEndpoint): InstanceType<typeof http.Agent> {
  if (!mailer.tls) {
    plainAgent ??= new http.Agent({ keepAlive: false, lookup: keptLookup } as ConstructorParameters<typeof http.Agent>[0]);
    return plainAgent;
  }
  const trust = tlsTrustOf({ ...(mailer.caFile !== undefined ? { caFile: mailer.caFile } : {}), ...(mailer.caPem !== undefined ? { caPem: mailer.caPem } : {}) });
  let agent = tlsAgents.get(trust.key);
  if (!agent) {
    const https = process.getBuiltinModule('node:https');
    agent = new https.Agent({ keepAlive: false, lookup: keptLookup, ...trust.options } as ConstructorParameters<typeof https.Agent>[0]);
    tlsAgents.set(trust.key, agent);
  }
  return agent;
}

/** POSTs `body` (alerts, reports); rejects on a network error or after `timeoutMs` in all. */
export function post(mailer: MailerEndpoint, path: string, headers: Record<string, string>, body: string | Buffer, timeoutMs: number, connectTimeoutMs = timeoutMs): Promise<Answer> {
  return exchange(mailer, 'POST', path, { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body, timeoutMs, connectTimeoutMs);
}

/** One request to the mailer; rejects on a network error (TLS included), after `connectTimeoutMs` unconnected, or after `timeoutMs` in all. */
export function exchange(
  mailer: MailerEndpoint,
  method: 'POST' | 'HEAD' | 'GET',
  path: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  timeoutMs: number,
  connectTimeoutMs = timeoutMs,
): Promise<Answer> {
  const agent = agentFor(mailer);
  const request = mailer.tls ? process.getBuiltinModule('node:https').request : http.request;
  return new Promise((resolve, reject) => {
    let connectTimer: ReturnType<typeof setTimeout> | undefined;
    const req = request({ agent, host: mailer.host, port: mailer.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      const err = new Error(`timeout after ${timeoutMs}ms`);
      err.name = 'TimeoutError';
      fail(err);
    }, timeoutMs);
    if (connectTimeoutMs < timeoutMs) {
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => fail(Object.assign(new Error(`connect timeout after ${connectTimeoutMs}ms`), { code: CONNECT_TIMEOUT_CODE })), connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connectTimer));
      });
    }
    function fail(err: Error): void {
      clearTimeout(timer);
      clearTimeout(connectTimer);
      forgetAddress(mailer.host);
      reject(err);
      req.destroy();
    }
    req.on('error', fail);
    req.end(body);
  });
}

/** The `error` of a JSON answer, or the start of a text one. */
export function errorText(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return body.trim().slice(0, 200) || undefined;
  }
}
