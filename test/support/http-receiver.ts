/**
 * A real HTTP server (node:http) on loopback that records every request and
 * answers from a script: the receiver webhook, Slack and Discord tests post to.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Which connection it came on (1, 2, …). */
  socket: number;
}

export type Answer = (req: IncomingMessage, res: ServerResponse) => void;

export const status = (code: number, body = '', headers: Record<string, string> = {}): Answer => (_req, res) => {
  res.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(body);
};

export class Receiver {
  readonly hits: Hit[] = [];
  /** Answers to the next requests, in order; then `fallback`. */
  answers: Answer[] = [];
  fallback: Answer = status(200, 'ok');
  /** Connections accepted so far. */
  sockets = 0;
  base = '';
  readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.hits.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        socket: (req.socket as unknown as { ch2Id: number }).ch2Id,
      });
      (this.answers.shift() ?? this.fallback)(req, res);
    });
  });

  constructor() {
    this.server.on('connection', (socket) => {
      this.sockets += 1;
      (socket as unknown as { ch2Id: number }).ch2Id = this.sockets;
    });
  }

  /** Listen on `host` (loopback; a docker network's gateway for a container to reach it), port 0. */
  async listen(host = '127.0.0.1'): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.base = `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  /** Forget what came and what to answer. */
  reset(): void {
    this.hits.length = 0;
    this.answers = [];
    this.fallback = status(200, 'ok');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
