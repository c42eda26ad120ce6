/**
 * The mailer's one TCP port: each connection's first bytes tell HTTP from the
 * book's raw text, and the connection goes to that protocol's handler.
 * Connections that say nothing are closed after --idle-timeout.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import type { Admissions } from './admission.ts';
import { sniffProtocol } from './protocol-sniff.ts';
import { handleRaw } from './raw-intake.ts';

export interface IntakeOptions {
  http: HttpServer;
  admissions: Admissions;
  log: Logger;
  maxBytes: number;
  idleTimeoutMs: number;
  /** Accept the book's raw text protocol (off with --no-raw). */
  raw?: boolean;
  /** Largest number of connections open at once. */
  maxConnections?: number;
}

export function createIntake(options: IntakeOptions): Server {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => onConnection(socket, options));
  server.maxConnections = options.maxConnections ?? 1024;
  return server;
}

function onConnection(socket: Socket, options: IntakeOptions): void {
  const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let head: Buffer = Buffer.alloc(0);
  let decided = false;
  socket.on('error', (err) => options.log.debug(`connection ${peer}: ${err.message}`));
  const decide = (kind: 'http' | 'raw'): void => {
    decided = true;
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.setTimeout(0);
    socket.removeListener('timeout', onIdle);
    if (kind === 'http') {
      // Half-open connections are for the raw protocol; HTTP closes normally.
      socket.allowHalfOpen = false;
      socket.pause();
      socket.unshift(head);
      options.http.emit('connection', socket);
      process.nextTick(() => socket.resume());
    } else if (options.raw === false) {
      if (head.length > 0) options.admissions.reject('raw', peer, 'raw text protocol is off (--no-raw); use HTTP POST /alerts');
      socket.resetAndDestroy(); // a reset, not a FIN: the raw sender learns it was refused
    } else {
      handleRaw(socket, head, options.admissions, peer, options);
    }
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const kind = sniffProtocol(head);
    if (kind !== 'more') decide(kind);
  };
  const onEnd = (): void => {
    if (!decided) {
      decide('raw');
      socket.emit('end');
    }
  };
  const onIdle = (): void => {
    if (decided) return;
    if (head.length === 0) {
      options.log.debug(`connection ${peer} sent nothing for ${options.idleTimeoutMs}ms; closed`);
      socket.destroy();
    } else {
      decide('raw');
      socket.emit('timeout');
    }
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.setTimeout(options.idleTimeoutMs);
  socket.on('timeout', onIdle);
}
