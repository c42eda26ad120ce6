/**
 * How many connections the intake holds at once: at most --max-connections in
 * all and --max-connections-per-peer from one IP address, so one host's slow
 * or idle sockets cannot take every slot (or every file descriptor) and lock
 * other hosts out. A connection over a limit is closed at once. A socket
 * that becomes a long-lived event stream (the status page's) is released from
 * its peer's count (releasePeer): the streams have caps of their own, so pages
 * open behind one reverse proxy (one peer) cannot lock out its alerts; it
 * still counts in all. Refusals and
 * accept errors (EMFILE, ENFILE) are logged at most once per interval, with
 * how many there were, so a flood cannot flood the log too.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { hostAddress } from '../../shared/peer-address.ts';
import { openFileLimit } from '../../shared/open-files.ts';
import { ThrottledLog } from '../../shared/throttled-log.ts';

export const DEFAULT_MAX_CONNECTIONS_CAP = 512;
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 64;

/** 512, or half the soft open-file limit when that is lower (512 where it cannot be read). */
export function defaultMaxConnections(): number {
  const soft = openFileLimit();
  return soft === undefined ? DEFAULT_MAX_CONNECTIONS_CAP : Math.max(16, Math.min(DEFAULT_MAX_CONNECTIONS_CAP, Math.floor(soft / 2)));
}

export class ConnectionLimits {
  readonly #perPeer = new Map<string, number>();
  /** The sockets counted against their peer, with the peer. */
  readonly #counted = new WeakMap<Socket, string>();
  #open = 0;
  /** --max-connections. */
  readonly max: number;
  readonly #maxPerPeer: number;
  readonly #refusals: ThrottledLog;

  constructor(options: { maxConnections: number; maxPerPeer: number; log: Logger }) {
    this.max = options.maxConnections;
    this.#maxPerPeer = options.maxPerPeer;
    this.#refusals = new ThrottledLog(options.log);
  }

  /** Count the socket in (until it closes) and return true, or close it and return false. */
  admit(socket: Socket): boolean {
    const peer = hostAddress(socket.remoteAddress);
    const fromPeer = this.#perPeer.get(peer) ?? 0;
    const over =
      this.#open >= this.max
        ? `${this.max} connections open (--max-connections)`
        : fromPeer >= this.#maxPerPeer
          ? `${this.#maxPerPeer} connections open from ${peer} (--max-connections-per-peer)`
          : undefined;
    if (over !== undefined) {
      socket.destroy();
      this.#refusals.warn(`Connection from ${peer} closed at once: ${over}.`, { event: 'connection-refused', peer });
      return false;
    }
    this.#open += 1;
    this.#perPeer.set(peer, fromPeer + 1);
    this.#counted.set(socket, peer);
    socket.once('close', () => {
      this.#open -= 1;
      this.releasePeer(socket);
    });
    return true;
  }

  /** The socket no longer counts against its peer's limit (it still counts in all, until it closes). */
  releasePeer(socket: Socket): void {
    const peer = this.#counted.get(socket);
    if (peer === undefined) return;
    this.#counted.delete(socket);
    const left = (this.#perPeer.get(peer) ?? 1) - 1;
    if (left <= 0) this.#perPeer.delete(peer);
    else this.#perPeer.set(peer, left);
  }
}
