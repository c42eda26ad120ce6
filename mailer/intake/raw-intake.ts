/**
 * The book's raw protocol on a connection: the message is every byte until
 * the sender closes. Over --max-bytes the connection is refused and closed;
 * a sender that goes idle without closing has its bytes taken as the message
 * (the book's `printf | nc` always closes, other senders may not). A message
 * not complete within three times --idle-timeout of its first byte is refused
 * and the connection reset, however steadily its bytes drip in.
 */
import type { Socket } from 'node:net';
import { parseRaw } from '../../shared/wire-raw.ts';
import type { Admissions } from './admission.ts';

export interface RawIntakeOptions {
  maxBytes: number;
  idleTimeoutMs: number;
}

/** How long a raw message may take from its first byte: three idle timeouts (the HTTP body deadline too). */
function rawDeadlineMs(idleTimeoutMs: number): number {
  return idleTimeoutMs * 3;
}

export function handleRaw(socket: Socket, first: Buffer, admissions: Admissions, peer: string, options: RawIntakeOptions, firstByteAt = Date.now()): void {
  const chunks: Buffer[] = [first];
  let size = first.length;
  let done = false;
  const deadlineMs = rawDeadlineMs(options.idleTimeoutMs);
  const deadline = setTimeout(() => {
    if (done) return;
    done = true;
    admissions.reject('raw', peer, `message not complete within ${deadlineMs}ms of its first byte; connection reset`);
    socket.destroy();
  }, Math.max(0, firstByteAt + deadlineMs - Date.now()));
  deadline.unref();
  socket.once('close', () => clearTimeout(deadline));
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    socket.removeAllListeners('data');
    socket.setTimeout(0);
    const bytes = Buffer.concat(chunks, size);
    socket.end();
    if (bytes.length === 0) return; // a connect-and-close probe, not an alert
    const parsed = parseRaw(bytes, options.maxBytes);
    if (!parsed.ok) {
      admissions.reject('raw', peer, parsed.error);
      return;
    }
    void admissions.admitRaw(parsed.value, peer);
  };
  const refuseTooLarge = (): void => {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    admissions.reject('raw', peer, `message over the ${options.maxBytes}-byte limit; connection closed`);
    socket.resetAndDestroy(); // a reset, not a FIN: the raw sender learns it was refused
  };
  if (size > options.maxBytes) return refuseTooLarge();
  socket.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > options.maxBytes) return refuseTooLarge();
    chunks.push(chunk);
  });
  socket.on('end', finish);
  socket.setTimeout(options.idleTimeoutMs, finish);
}
