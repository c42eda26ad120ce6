/**
 * The HTTP intake's header and body deadlines (http-intake.ts), one record
 * per connection and one sweeping timer for them all.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** A connection's deadlines (Infinity: none). */
interface Watch {
  /** Closed then, unless a request's headers are in. */
  headersBy: number;
  /** The body being read is given up on then. */
  bodyBy: number;
  body: IncomingMessage | undefined;
  late: ((value: 'late') => void) | undefined;
}

/**
 * The header and body deadlines of one server's connections, checked by one
 * coarse timer (every quarter of --idle-timeout, at most every second) rather
 * than a timer armed and cleared per request: each connection has one record
 * from its start to its close, and a request only writes times into it. A
 * deadline is met up to one sweep late. The timer runs, unreferenced, while
 * some connection is open.
 */
export class Deadlines {
  readonly #headerMs: number;
  readonly #everyMs: number;
  readonly #watched = new Map<Socket, Watch>();
  #timer: NodeJS.Timeout | undefined;

  constructor(headerMs: number) {
    this.#headerMs = headerMs;
    this.#everyMs = Math.min(1000, Math.max(10, Math.floor(headerMs / 4)));
  }

  /** A new connection: its first request's headers are due within the header deadline. */
  watch(socket: Socket): void {
    if (socket.destroyed) return;
    this.#watchOf(socket).headersBy = Date.now() + this.#headerMs;
  }

  unwatch(socket: Socket): void {
    this.#watched.delete(socket);
  }

  /** A request's headers are in. */
  headersIn(socket: Socket): void {
    const w = this.#watched.get(socket);
    if (w) w.headersBy = Infinity;
  }

  /** A response is sent: the next request's headers are due within the header deadline. */
  idle(socket: Socket | null): void {
    const w = socket ? this.#watched.get(socket) : undefined;
    if (w) w.headersBy = Date.now() + this.#headerMs;
  }

  /** `late('late')` unless bodyDone(req) comes within `ms`; nothing once the connection has closed. */
  readingBody(req: IncomingMessage, ms: number, late: (value: 'late') => void): void {
    if (req.socket.destroyed) return;
    const w = this.#watchOf(req.socket);
    w.bodyBy = Date.now() + ms;
    w.body = req;
    w.late = late;
  }

  bodyDone(req: IncomingMessage): void {
    const w = this.#watched.get(req.socket);
    if (w === undefined || w.body !== req) return;
    w.bodyBy = Infinity;
    w.body = undefined;
    w.late = undefined;
  }

  #watchOf(socket: Socket): Watch {
    let w = this.#watched.get(socket);
    if (w === undefined) {
      w = { headersBy: Infinity, bodyBy: Infinity, body: undefined, late: undefined };
      this.#watched.set(socket, w);
    }
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.#everyMs);
      this.#timer.unref();
    }
    return w;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [socket, w] of this.#watched) {
      if (w.headersBy <= now) {
        this.#watched.delete(socket);
        socket.destroy();
      } else if (w.bodyBy <= now) {
        const { body, late } = w;
        w.bodyBy = Infinity;
        w.body = undefined;
        w.late = undefined;
        body?.removeAllListeners('data');
        late?.('late');
      }
    }
    if (this.#watched.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
