/**
 * The book's raw protocol on a connection: the message is every byte until
 * the sender closes. Over --max-bytes the connection is refused and closed;
 * a sender that goes idle without closing has its bytes taken as the message
 * (the book's `printf | nc` always closes, other senders may not).
 */
import type { Socket } from 'node:net';
import { parseRaw } from '../../shared/wire-raw.ts';
import type { Admissions } from './admission.ts';

export interface RawIntakeOptions {
  maxBytes: number;
  idleTimeoutMs: number;
}

export function handleRaw(socket: Socket, first: Buffer, admissions: Admissions, peer: string, options: RawIntakeOptions): void {
  const chunks: Buffer[] = [first];
  let size = first.length;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    socket.removeAllListeners('data');
    socket.setTimeout(0);
    const bytes = Buffer.concat(chunks, size);
    socket.end();
    if (bytes.length === 0) return; // a connect-and-close probe, not an alert
    const parsed = parseRaw(bytes);
    if (!parsed.ok) {
      admissions.reject('raw', peer, parsed.error);
      return;
    }
    void admissions.admitRaw(parsed.value, peer);
  };
  const refuseTooLarge = (): void => {
    if (done) return;
    done = true;
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
