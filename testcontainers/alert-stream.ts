/**
 * Follows a ch2 mailer's event stream (GET /api/v1/events, Server-Sent
 * Events) from the test's process and keeps every `alert` event: each alert
 * the mailer accepted, as it arrived (mailer/hub/hub.ts HubEvent). The hub
 * sends alert events only to a reader who sees everything, so the stream is
 * opened with the mailer's token. waitFor resolves at the event itself (no
 * polling) and, past its deadline, rejects with what did arrive. The socket is
 * unref'd: a test that forgets stop() still exits.
 */
import { request, type IncomingMessage } from 'node:http';
import { sseReader } from './sse.ts';

/** An alert as the mailer accepted it (the fields of POST /alerts), with the hub's incident and when it arrived. */
export interface Ch2Alert {
  id: string;
  to: string;
  message: string;
  status: 'down' | 'up';
  target?: string;
  reason?: string;
  time?: string;
  downForMs?: number;
  reminder?: number;
  /** The agent's incident id (one per outage), or for an alert that names none the hub's. */
  incident: string;
  agent?: string;
  instance?: string;
  /** When the mailer accepted it (ISO 8601). */
  receivedAt: string;
  /** The hub held it back from the channels (--quorum, or an up while another agent sees the target down). */
  held: boolean;
}

/** Each given field must equal the alert's (a RegExp: match it); or a predicate. */
export type AlertMatch = { [K in keyof Ch2Alert]?: Ch2Alert[K] | RegExp } | ((alert: Ch2Alert) => boolean);

export interface WaitForAlertOptions {
  /** ms (default 10 000). */
  timeout?: number;
  /** Only alerts that arrived at or after this time (default: every alert since the container started). */
  since?: Date;
}

/** The rejection of waitForAlert: what arrived meanwhile is in `alerts`. */
export class AlertTimeoutError extends Error {
  readonly alerts: Ch2Alert[];
  constructor(message: string, alerts: Ch2Alert[]) {
    super(message);
    this.name = 'AlertTimeoutError';
    this.alerts = alerts;
  }
}

function matches(match: AlertMatch, alert: Ch2Alert): boolean {
  if (typeof match === 'function') return match(alert);
  return Object.entries(match).every(([key, want]) => {
    const have = (alert as unknown as Record<string, unknown>)[key];
    return want instanceof RegExp ? typeof have === 'string' && want.test(have) : have === want;
  });
}

function describe(match: AlertMatch): string {
  if (typeof match === 'function') return 'a predicate';
  return JSON.stringify(match, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v));
}

export class AlertStream {
  readonly #arrived: { at: number; alert: Ch2Alert }[] = [];
  readonly #waiters = new Set<() => void>();
  #response: IncomingMessage | undefined;
  #ended: string | undefined;

  /** Open the stream and resolve once the mailer's hello came (every alert after that is seen); undefined: the status page is off (404). */
  static open(url: string, token: string, timeoutMs = 5_000): Promise<AlertStream | undefined> {
    const stream = new AlertStream();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`the mailer's event stream (${url}/api/v1/events) sent no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      const req = request(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          clearTimeout(timer);
          res.resume();
          if (res.statusCode === 404) return resolve(undefined);
          reject(new Error(`GET ${url}/api/v1/events answered ${res.statusCode} (the status page must be on: no --status-page off)`));
          return;
        }
        stream.#response = res;
        res.setEncoding('utf8');
        res.on(
          'data',
          sseReader((type, data) => {
            if (type === 'hello') {
              clearTimeout(timer);
              resolve(stream);
            } else if (type === 'alert' && data !== undefined) {
              stream.#arrived.push({ at: Date.now(), alert: JSON.parse(data) as Ch2Alert });
              for (const wake of [...stream.#waiters]) wake();
            }
          }),
        );
        res.on('close', () => stream.#end('the event stream closed (the mailer stopped?)'));
      });
      req.on('socket', (socket) => socket.unref());
      req.on('error', (err) => {
        clearTimeout(timer);
        stream.#end(err.message);
        reject(err);
      });
      req.end();
    });
  }

  /** Every alert seen since the stream opened, in order. */
  get alerts(): Ch2Alert[] {
    return this.#arrived.map((a) => a.alert);
  }

  waitFor(match: AlertMatch, options: WaitForAlertOptions = {}): Promise<Ch2Alert> {
    const timeout = options.timeout ?? 10_000;
    const since = options.since?.getTime() ?? 0;
    return new Promise((resolve, reject) => {
      const candidates = (): Ch2Alert[] => this.#arrived.filter((a) => a.at >= since).map((a) => a.alert);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const fail = (why: string): void => {
        done();
        const seen = candidates();
        const list = seen.map((a) => `  ${a.status} ${a.target ?? '-'} to ${a.to}: ${a.message}`).join('\n');
        reject(new AlertTimeoutError(`waitForAlert(${describe(match)}): ${why}; ${seen.length} alert(s) arrived${seen.length ? `:\n${list}` : ''}`, seen));
      };
      const check = (): void => {
        const found = candidates().find((a) => matches(match, a));
        if (found) {
          done();
          resolve(found);
        } else if (this.#ended !== undefined) fail(this.#ended);
      };
      const timer = setTimeout(() => fail(`none matched within ${timeout} ms`), timeout);
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.#end('the mailer container was stopped');
    this.#response?.destroy();
  }

  #end(why: string): void {
    this.#ended ??= why;
    for (const wake of [...this.#waiters]) wake();
  }
}
