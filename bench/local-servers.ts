/**
 * Small local HTTP servers for the benchmarks (a counting mailer, a site),
 * each on 127.0.0.1 and registered for cleanup, and a free port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { defer } from './lib.ts';

/** A free TCP port on 127.0.0.1 (tiny race: the port is closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface LocalServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1:0; registered for cleanup. */
export async function listenLocal(name: string, handler: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  const undefer = defer(`close ${name} server`, close);
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await undefer();
    },
  };
}

export interface CountingMailer extends LocalServer {
  alerts: { at: number; body: string }[];
}

/** A stand-in mailer that answers POST /alerts with 202 and counts what it gets. */
export async function countingMailer(name = 'counting mailer'): Promise<CountingMailer> {
  const alerts: { at: number; body: string }[] = [];
  const srv = await listenLocal(name, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/alerts') {
        const body = Buffer.concat(chunks).toString('utf8');
        alerts.push({ at: Date.now(), body });
        let id = 'unknown';
        try {
          id = String((JSON.parse(body) as { id?: unknown }).id ?? id);
        } catch {
          /* keep 'unknown' */
        }
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      } else if (req.url === '/healthz') {
        res.writeHead(200).end('ok');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return { ...srv, alerts };
}
