/**
 * GET /api/v1/events: Server-Sent Events for the status page. Each hub event
 * (hub.ts HubEvent: target, incident, agent, figures, alert) goes to every open stream as
 * `event: <type>` and one `data:` line of JSON; `alert` (each accepted alert, for
 * tests that wait on one: ch2/testcontainers) only to readers who see all. The list of
 * the page's incidents section goes too, as `incidents` {html}: with each new stream, and rendered once for
 * all streams (at most every RENDER_EVERY_MS) after an incident changed, so
 * a page never asks for it and a hundred pages cost one render; a comment line every
 * HEARTBEAT_MS keeps proxies from closing an idle stream. At most
 * MAX_STREAMS at once, and never more than half of --max-connections, so
 * alerts keep the other half; at most MAX_STREAMS_PER_PEER from one address
 * (more get 503). An open stream's socket no longer counts against
 * --max-connections-per-peer (connection-limits.ts releasePeer): behind a
 * reverse proxy every page is one peer, and its open pages must not lock out
 * the alerts that come through it too. The incidents fragment is rendered
 * for each stream's audience (a public reader's leaves out recipients,
 * error text and alert ids: hub-view.ts), with the page's controls (each open
 * incident's Close button) for a reader who may write (access.canWrite, as
 * the page itself has them; never in the public view). The fragment carries
 * no CSRF token (the page's close form holds it), so one render serves every
 * such reader. A stream whose client does not read
 * (over MAX_BUFFERED bytes queued) is closed, so a slow reader cannot grow
 * the mailer's memory. The browser's EventSource reconnects by itself.
 *
 * A stream lasts no longer than what let it in: one opened on a session's
 * cookie ends when the session does (at its end, or at the next event once
 * the session is pushed out), and its reconnection then needs a login. The
 * token and an open page cannot change while the mailer runs (access.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hostAddress } from '../../shared/peer-address.ts';
import type { Access } from './access.ts';
import { type Audience, hubEvent } from './hub-view.ts';
import type { HubEvent, StatusHub } from './hub.ts';

export const EVENTS_PATH = '/api/v1/events';
const MAX_STREAMS = 256;
export const MAX_STREAMS_PER_PEER = 32;
const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED = 1024 * 1024;
const RENDER_EVERY_MS = 250;

export interface EventStreamOptions {
  hub: Pick<StatusHub, 'subscribe'>;
  /** The incidents section's list as the page shows it now, for a reader who sees all or for the public (hub-view.ts), with the Close buttons or not. */
  render: (audience: Audience, controls: boolean) => Promise<string>;
  /** Who may read (the caller let the request in): how long a stream may last, what it may see, whether it gets the page's controls. */
  access: Pick<Access, 'readUntil' | 'seesAll' | 'canWrite'>;
  /** The intake's connection limits: a stream's socket is released from its peer's count once the stream is open. */
  limits: { readonly max: number; releasePeer(socket: Socket): void };
}

/** What a stream's reader gets: the public view, all, or all with the page's controls (a reader who may write). */
type View = 'public' | 'all' | 'all+controls';

/** An open stream: its request (what let it in), its peer and, for a session's, the timer at the session's end. */
interface Stream {
  req: IncomingMessage;
  peer: string;
  /** Whether what let it in can end (a session's cookie). */
  ends: boolean;
  /** What its reader may see, and with which controls: its render's key (viewOf). */
  view: View;
  timer: NodeJS.Timeout | undefined;
}

export class EventStreams {
  readonly #o: EventStreamOptions;
  #rendering = false;
  #again = false;
  #renderTimer: NodeJS.Timeout | undefined;
  readonly #open = new Map<ServerResponse, Stream>();
  /** Open streams per peer address. */
  readonly #perPeer = new Map<string, number>();
  readonly #max: number;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: EventStreamOptions) {
    this.#o = options;
    this.#max = Math.max(1, Math.min(MAX_STREAMS, Math.floor(options.limits.max / 2)));
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const peer = hostAddress(req.socket.remoteAddress);
    const fromPeer = this.#perPeer.get(peer) ?? 0;
    const over =
      this.#open.size >= this.#max ? `at most ${this.#max} event streams at once` : fromPeer >= MAX_STREAMS_PER_PEER ? `at most ${MAX_STREAMS_PER_PEER} event streams at once from one address` : undefined;
    if (over !== undefined) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      res.end(JSON.stringify({ error: over }));
      return;
    }
    const until = this.#o.access.readUntil(req);
    if (until === undefined) {
      // The caller let it in a moment ago; a session that ended since then is no way in.
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'the session has ended; log in again' }));
      return;
    }
    // A stream is idle between events by design: no idle timeout on its socket. It counts against the
    // streams' caps, not its peer's connections; and the socket closes with the stream (connection: close),
    // so it never serves other requests uncounted.
    req.socket.setTimeout(0);
    this.#o.limits.releasePeer(req.socket);
    this.#perPeer.set(peer, fromPeer + 1);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'close' });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    const ends = until !== Infinity;
    // A session is good through `until`: the stream ends the moment after.
    const timer = ends ? setTimeout(() => this.#end(res), Math.max(0, until - Date.now() + 1)).unref() : undefined;
    const view: View = this.#o.access.seesAll(req) ? (this.#o.access.canWrite(req) ? 'all+controls' : 'all') : 'public';
    this.#open.set(res, { req, peer, ends, timer, view });
    res.on('close', () => this.#drop(res));
    this.#unsubscribe ??= this.#o.hub.subscribe((e) => this.#send(e));
    this.#render(view).then(
      (html) => {
        if (this.#open.has(res)) res.write(incidentsEvent(html));
      },
      () => {}, // the next change sends it
    );
    this.#timer ??= setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS).unref();
  }

  close(): void {
    for (const res of [...this.#open.keys()]) this.#end(res);
  }

  #render(view: View): Promise<string> {
    return this.#o.render(view === 'public' ? 'public' : 'all', view === 'all+controls');
  }

  #send(event: HubEvent): void {
    for (const audience of ['all', 'public'] as const) {
      const e = hubEvent(event, audience);
      if (e) this.#write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`, (v) => (v === 'public') === (audience === 'public'));
    }
    if (event.type === 'incident') this.#renderSoon();
  }

  /** Render the incidents section for every stream, once a burst of changes is over; one render at a time. */
  #renderSoon(): void {
    if (this.#rendering) {
      this.#again = true;
      return;
    }
    this.#renderTimer ??= setTimeout(() => {
      this.#renderTimer = undefined;
      this.#rendering = true;
      // One render per view that has a stream open, each sent to its streams only.
      const views = new Set([...this.#open.values()].map((s) => s.view));
      Promise.all([...views].map((v) => this.#render(v).then((html) => this.#write(incidentsEvent(html), (w) => w === v), () => {})))
        .finally(() => {
          this.#rendering = false;
          if (this.#again && this.#open.size > 0) {
            this.#again = false;
            this.#renderSoon();
          }
        });
    }, RENDER_EVERY_MS).unref();
  }

  #write(text: string, to?: (view: View) => boolean): void {
    for (const [res, stream] of this.#open) {
      if (to !== undefined && !to(stream.view)) continue;
      if (res.writableLength > MAX_BUFFERED) {
        res.destroy();
        continue;
      }
      // A session pushed out before its end (the oldest, when too many log in) lets no more through.
      if (stream.ends && this.#o.access.readUntil(stream.req) === undefined) {
        this.#end(res);
        continue;
      }
      res.write(text);
    }
  }

  /** End a stream now: nothing more is written to it. */
  #end(res: ServerResponse): void {
    this.#drop(res);
    res.end();
  }

  #drop(res: ServerResponse): void {
    const stream = this.#open.get(res);
    if (!stream) return;
    clearTimeout(stream.timer);
    this.#open.delete(res);
    const left = (this.#perPeer.get(stream.peer) ?? 1) - 1;
    if (left <= 0) this.#perPeer.delete(stream.peer);
    else this.#perPeer.set(stream.peer, left);
    if (this.#open.size === 0) this.#stop();
  }

  #stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#renderTimer) clearTimeout(this.#renderTimer);
    this.#renderTimer = undefined;
  }
}

function incidentsEvent(html: string): string {
  return `event: incidents\ndata: ${JSON.stringify({ html })}\n\n`;
}
