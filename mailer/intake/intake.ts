/**
 * The mailer's one TCP port: each connection's first bytes tell HTTP from the
 * book's raw text, and the connection goes to that protocol's handler.
 * Connections that say nothing are closed after --idle-timeout; connections
 * over --max-connections (in all) or --max-connections-per-peer (from one
 * address) are closed at once. Out of file descriptors, libuv accepts and
 * closes what it cannot keep (no error reaches us), so a --max-connections
 * over half the open-file limit is warned about at start; an accept error
 * that does reach the server once listening is logged and survived.
 *
 * With --tls-cert the port speaks HTTPS only: a first byte 0x16 (a TLS
 * ClientHello) goes to the TLS server, whose connections go to HTTP; a
 * plaintext HTTP request gets a plaintext 400 saying to use https:// (as
 * nginx answers one), and raw text is refused as when raw is off (it is
 * plaintext and carries no token, so it never shares the HTTPS port).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from '../../shared/logger.ts';
import type { Admissions } from './admission.ts';
import { openFileLimit, outOfDescriptors } from '../../shared/open-files.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import { ThrottledLog } from '../../shared/throttled-log.ts';
import { sniffProtocol } from './protocol-sniff.ts';
import { handleRaw } from './raw-intake.ts';

export interface IntakeOptions {
  http: HttpServer;
  admissions: Admissions;
  log: Logger;
  maxBytes: number;
  idleTimeoutMs: number;
  /** Accept the book's raw text protocol; when off, why (logged with each refusal). */
  raw: true | { off: string };
  /** --max-connections and --max-connections-per-peer (an event stream's socket is released from the latter). */
  limits: ConnectionLimits;
  /** --tls-cert: the TLS server the port's TLS connections go to. */
  tls?: TlsServer;
}

const TLS_HANDSHAKE = 0x16;
const PLAIN_REFUSAL = 'This port speaks HTTPS (the mailer runs with --tls-cert): use https://.\n';

export function createIntake(options: IntakeOptions): Server {
  const { limits } = options;
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (limits.admit(socket)) onConnection(socket, options);
  });
  const files = openFileLimit();
  if (files !== undefined && limits.max > files / 2) {
    // libuv then closes connections it cannot accept (EMFILE) itself, with no error for us to log.
    options.log.warn(
      `--max-connections ${limits.max} is over half the open-file limit (${files}): when descriptors run out, ` +
        'new connections are closed unseen. Lower --max-connections or raise the limit (docker run --ulimit nofile=...).',
      { event: 'fd-limit', maxConnections: limits.max, openFiles: files },
    );
  }
  const acceptErrors = new ThrottledLog(options.log);
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Before 'listening' the caller's handler decides (a port in use is fatal); after it, accept errors are survived.
    if (!server.listening) return;
    const hint = outOfDescriptors(err) ? ' (out of file descriptors: lower --max-connections or raise the open-file limit)' : '';
    acceptErrors.warn(`Cannot accept a connection: ${err.code ?? err.message}${hint}; still listening.`, { event: 'accept-error', code: err.code });
  });
  return server;
}

function onConnection(socket: Socket, options: IntakeOptions): void {
  const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  let head: Buffer = Buffer.alloc(0);
  let decided = false;
  let firstByteAt = 0;
  socket.on('error', (err) => options.log.debug(`connection ${peer}: ${err.message}`));
  const decide = (kind: 'http' | 'raw' | 'tls'): void => {
    decided = true;
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.setTimeout(0);
    socket.removeListener('timeout', onIdle);
    if (kind === 'tls') {
      socket.allowHalfOpen = false;
      socket.pause();
      socket.unshift(head);
      options.tls!.emit('connection', socket);
    } else if (kind === 'http' && options.tls) {
      options.log.debug(`connection ${peer}: plaintext HTTP on the HTTPS port; refused with a 400`);
      socket.allowHalfOpen = false;
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(PLAIN_REFUSAL)}\r\n\r\n${PLAIN_REFUSAL}`);
    } else if (kind === 'http') {
      // Half-open connections are for the raw protocol; HTTP closes normally.
      socket.allowHalfOpen = false;
      socket.pause();
      socket.unshift(head);
      options.http.emit('connection', socket);
      process.nextTick(() => socket.resume());
    } else if (options.raw !== true) {
      if (head.length > 0) options.admissions.reject('raw', peer, `raw text protocol is off (${options.raw.off}); use HTTP POST /alerts`);
      socket.resetAndDestroy(); // a reset, not a FIN: the raw sender learns it was refused
    } else {
      handleRaw(socket, head, options.admissions, peer, options, firstByteAt || Date.now());
    }
  };
  const onData = (chunk: Buffer): void => {
    if (firstByteAt === 0) firstByteAt = Date.now();
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const kind = options.tls && head[0] === TLS_HANDSHAKE ? 'tls' : sniffProtocol(head);
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
