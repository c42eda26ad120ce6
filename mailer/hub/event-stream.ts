/**
 * GET /api/v1/events: Server-Sent Events for the status page. Each hub event
 * (hub.ts HubEvent: target, incident, agent) goes to every open stream as
 * `event: <type>` and one `data:` line of JSON. The page's incidents section
 * goes too, as `incidents` {html}: with each new stream, and rendered once for
 * all streams (at most every RENDER_EVERY_MS) after an incident changed, so
 * a page never asks for it and a hundred pages cost one render; a comment line every
 * HEARTBEAT_MS keeps proxies from closing an idle stream. At most
 * MAX_STREAMS at once (more get 503); a stream whose client does not read
 * (over MAX_BUFFERED bytes queued) is closed, so a slow reader cannot grow
 * the mailer's memory. The browser's EventSource reconnects by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubEvent, StatusHub } from './hub.ts';

export const EVENTS_PATH = '/api/v1/events';
const MAX_STREAMS = 256;
const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED = 1024 * 1024;
const RENDER_EVERY_MS = 250;

export class EventStreams {
  readonly #hub: StatusHub;
  /** The incidents section as the page shows it now. */
  readonly #render: () => Promise<string>;
  #rendering = false;
  #again = false;
  #renderTimer: NodeJS.Timeout | undefined;
  readonly #open = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(hub: StatusHub, render: () => Promise<string>) {
    this.#hub = hub;
    this.#render = render;
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.#open.size >= MAX_STREAMS) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      res.end(JSON.stringify({ error: `at most ${MAX_STREAMS} event streams at once` }));
      return;
    }
    // A stream is idle between events by design: no idle timeout on its socket.
    req.socket.setTimeout(0);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    this.#open.add(res);
    res.on('close', () => this.#drop(res));
    this.#unsubscribe ??= this.#hub.subscribe((e) => this.#send(e));
    this.#render().then(
      (html) => {
        if (this.#open.has(res)) res.write(incidentsEvent(html));
      },
      () => {}, // the next change sends it
    );
    this.#timer ??= setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS).unref();
  }

  close(): void {
    for (const res of this.#open) res.end();
    this.#open.clear();
    this.#stop();
  }

  #send(event: HubEvent): void {
    this.#write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
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
      this.#render()
        .then((html) => this.#write(incidentsEvent(html)), () => {})
        .finally(() => {
          this.#rendering = false;
          if (this.#again && this.#open.size > 0) {
            this.#again = false;
            this.#renderSoon();
          }
        });
    }, RENDER_EVERY_MS).unref();
  }

  #write(text: string): void {
    for (const res of this.#open) {
      if (res.writableLength > MAX_BUFFERED) {
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  #drop(res: ServerResponse): void {
    this.#open.delete(res);
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
