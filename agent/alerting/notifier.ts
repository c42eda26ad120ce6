/**
 * The agent's outbox to the mailer: alerts wait here, in order, until the
 * mailer takes them. Sending runs beside the checks and never delays them.
 * A transient failure (mailer down) is retried with backoff, keeping the same
 * alert id, so the mailer can drop a duplicate; a permanent refusal is logged
 * and dropped, since resending cannot change the answer. A refusal of our
 * credentials (401, 403: a wrong or missing --mailer-token) is no answer
 * about the alert: it is kept and retried the same way (same backoff, same
 * order) until the setting is fixed, with an error line saying what to fix
 * at most once every REFUSED_LINE_EVERY_MS (the others are debug lines).
 *
 * The queue is bounded by `maxPending`. At the bound, the oldest waiting
 * reminder makes room (or the new reminder itself is dropped when none waits).
 * A "down" or "up" alert is never dropped: with no reminder left to drop, the
 * queue grows past the bound, by at most two alerts per incident per
 * recipient. Every drop is counted in a log line.
 */
import type { Alert } from '../../shared/alert.ts';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from '../../shared/backoff.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AgentEvents } from '../events.ts';
import { DEFAULT_MAX_PENDING } from '../defaults.ts';
import type { SendAlert } from './mailer-client.ts';

/** The least time between two error lines of alerts the mailer refused (401, 403). */
export const REFUSED_LINE_EVERY_MS = 60_000;

export interface NotifierOptions {
  send: SendAlert;
  log: Logger;
  /** Most alerts held while the mailer is away (see the drop rule above). */
  maxPending?: number;
  backoff?: BackoffPolicy;
  events?: Pick<AgentEvents, 'alertQueued' | 'alertDelivered' | 'alertFailed' | 'alertDropped'>;
  onDelivered?: (alert: Alert) => void;
  /** Clock of the refused lines' spacing, ms; default Date.now. */
  clock?: () => number;
}

export class Notifier {
  readonly #queue: Alert[] = [];
  readonly #options: NotifierOptions;
  readonly #maxPending: number;
  #running = false;
  #closed = false;
  #dropped = 0;
  #overBoundWarned = false;
  #refusedLineAt = Number.NEGATIVE_INFINITY;
  #wake: (() => void) | undefined;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    if (!(this.#maxPending >= 1)) throw new RangeError('maxPending must be at least 1');
  }

  /** Alerts waiting for the mailer (the one being sent included). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Reminders dropped so far to keep the queue bounded. */
  get dropped(): number {
    return this.#dropped;
  }

  enqueue(alert: Alert): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxPending && !this.#makeRoom(alert)) return;
    this.#queue.push(alert);
    this.#options.events?.alertQueued?.(alert);
    if (!this.#running) void this.#drain();
  }

  /** Stop sending; what waits is left undelivered. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** At the bound: drop the oldest waiting reminder (never the one being sent). Returns false if `incoming` itself is dropped. */
  #makeRoom(incoming: Alert): boolean {
    const { log } = this.#options;
    // Index 0 may be on the wire right now: leave it alone.
    const index = this.#queue.findIndex((a, i) => i > 0 && a.reminder !== undefined);
    if (index > 0) {
      const [old] = this.#queue.splice(index, 1);
      this.#noteDrop(old!);
      return true;
    }
    if (incoming.reminder !== undefined) {
      this.#noteDrop(incoming);
      return false;
    }
    if (!this.#overBoundWarned) {
      this.#overBoundWarned = true;
      log.warn(`Alert queue over its bound (${this.#maxPending}) with no reminder left to drop; keeping every down and up alert.`, {
        event: 'queue-over-bound',
        pending: this.#queue.length + 1,
      });
    }
    return true;
  }

  #noteDrop(alert: Alert): void {
    this.#dropped += 1;
    this.#options.log.warn(
      `Alert queue full (${this.#maxPending}); dropped reminder ${alert.reminder} for ${alert.target ?? '?'} (${this.#dropped} reminder${this.#dropped === 1 ? '' : 's'} dropped so far).`,
      { event: 'dropped', id: alert.id, target: alert.target, dropped: this.#dropped },
    );
    this.#options.events?.alertDropped?.(alert);
  }

  async #drain(): Promise<void> {
    this.#running = true;
    const { send, log, events } = this.#options;
    let attempt = 0;
    while (!this.#closed && this.#queue.length > 0) {
      const alert = this.#queue[0]!;
      const result = await send(alert);
      if (this.#closed) break;
      if (result.ok) {
        attempt = 0;
        this.#queue.shift();
        if (this.#queue.length < this.#maxPending) this.#overBoundWarned = false;
        log.debug(`Alert ${alert.id} delivered to the mailer`, { id: alert.id, status: alert.status });
        events?.alertDelivered?.(alert);
        this.#options.onDelivered?.(alert);
        continue;
      }
      if (!result.retry) {
        attempt = 0;
        this.#queue.shift();
        log.error(`Alert not delivered: ${result.error}`, { event: 'refused', id: alert.id, status: alert.status, target: alert.target });
        events?.alertFailed?.(alert, result.error);
        continue;
      }
      attempt += 1;
      const delay = Math.max(('retryAfterMs' in result ? result.retryAfterMs : undefined) ?? 0, backoffDelay(attempt, this.#options.backoff ?? DEFAULT_BACKOFF));
      const waiting = `${this.#queue.length} alert${this.#queue.length === 1 ? '' : 's'} waiting`;
      if ('refused' in result) {
        const now = (this.#options.clock ?? Date.now)();
        const quiet = now - this.#refusedLineAt < REFUSED_LINE_EVERY_MS;
        if (!quiet) this.#refusedLineAt = now;
        const line = `${result.error}; alerts are kept and retried until it is fixed (${waiting}; this line at most once a minute)`;
        const fields = { event: 'refused', id: alert.id, status: result.refused, attempt };
        if (quiet) log.debug(line, fields);
        else log.error(line, fields);
      } else {
        log.warn(`${result.error}; retrying in ${(delay / 1000).toFixed(1)}s (${waiting})`, { id: alert.id, attempt });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    this.#running = false;
  }
}
