/**
 * The checks' sockets, held within the descriptors the agent has for them
 * (descriptors.ts) when the targets could use more. In flight, a check holds at
 * most one socket and CheckSlots bounds the checks; what is left are the idle
 * kept-alive connections, one or more per origin, which with many origins
 * would add up past the limit. So before a new connection opens at the limit,
 * the longest-idle kept-alive connection (of any origin) is closed: many
 * origins then take turns with the descriptors instead of the first ones
 * keeping them and the others' checks finding none.
 *
 * The node:http agents (http-connections.ts) and the TCP checks report here:
 * `makeRoom` then `opened` for each new socket, `idled` and `busy` as a pooled
 * one goes idle and back to work. A socket closed here is `evicted`: its close
 * is the agent's own, not the server's.
 */
import type { Duplex } from 'node:stream';

export class CheckSockets {
  readonly limit: number;
  #open = 0;
  /** Idle kept-alive sockets, longest idle first (a Set keeps insertion order). */
  readonly #idle = new Set<Duplex>();
  readonly #evicted = new WeakSet<Duplex>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Sockets open (those closed here are no longer counted, whenever their close comes). */
  get open(): number {
    return this.#open;
  }

  get idle(): number {
    return this.#idle.size;
  }

  /** A new socket is about to open: at the limit, close the longest-idle ones first. */
  makeRoom(): void {
    while (this.#open >= this.limit) {
      const oldest = this.#idle.values().next().value;
      if (oldest === undefined) return;
      this.#idle.delete(oldest);
      this.#evicted.add(oldest);
      this.#open -= 1;
      oldest.destroy();
    }
  }

  /** Count a new socket until it closes. */
  opened(socket: Duplex): void {
    this.#open += 1;
    socket.once('close', () => {
      this.#idle.delete(socket);
      if (!this.#evicted.has(socket)) this.#open -= 1;
    });
  }

  /** A pooled socket went idle (kept alive). */
  idled(socket: Duplex): void {
    this.#idle.add(socket);
  }

  /** An idle socket took a request. */
  busy(socket: Duplex): void {
    this.#idle.delete(socket);
  }

  /** The socket was closed here to make room. */
  evicted(socket: Duplex): boolean {
    return this.#evicted.has(socket);
  }
}
