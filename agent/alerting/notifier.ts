/**
 * The agent's outbox to the mailer: alerts wait here, in order, until the
 * mailer takes them. Sending runs beside the checks and never delays them.
 * Alerts go in batches of up to `batchLimit()`, with up to `inFlight`
 * requests at once (the mailer link says how many: JSON batches, raw one
 * at a time). Each target's alerts stay in order: a request carries at most
 * one alert of a target, and a target's next alert waits until the mailer
 * has answered for the one before (its up never overtakes its down), which
 * also holds when part of a batch is refused and retried.
 * A transient failure (mailer down) is retried with backoff, keeping the same
 * alert id, so the mailer can drop a duplicate; a permanent refusal is logged
 * and dropped, since resending cannot change the answer. A refusal of our
 * credentials (401, 403: a wrong or missing --mailer-token) is no answer
 * about the alert: it is kept and retried the same way (same backoff, same
 * order) until the setting is fixed, with an error line saying what to fix
 * at most once every REFUSED_LINE_EVERY_MS (the others are debug lines).
 * While a retry waits its backoff no new request starts.
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
import type { MailerResult, SendAlerts } from './mailer-client.ts';

/** The least time between two error lines of alerts the mailer refused (401, 403). */
export const REFUSED_LINE_EVERY_MS = 60_000;

export interface NotifierOptions {
  /** One request for these alerts; one result per alert, in order. */
  send: SendAlerts;
  /** Most alerts in one request, asked before each; default 1. */
  batchLimit?: () => number;
  /** Most requests at once; default 1. */
  inFlight?: number;
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
  #queue: Alert[] = [];
  readonly #options: NotifierOptions;
  readonly #maxPending: number;
  readonly #inFlight: number;
  /** Alerts on the wire: never dropped, and their targets' later alerts wait. */
  readonly #sending = new Set<Alert>();
  #requests = 0;
  #closed = false;
  #dropped = 0;
  #overBoundWarned = false;
  #refusedLineAt = Number.NEGATIVE_INFINITY;
  #attempt = 0;
  /** The backoff of a retry, while it runs: no request starts. */
  #pause: ReturnType<typeof setTimeout> | undefined;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.#inFlight = options.inFlight ?? 1;
    if (!(this.#maxPending >= 1)) throw new RangeError('maxPending must be at least 1');
    if (!(this.#inFlight >= 1)) throw new RangeError('inFlight must be at least 1');
  }

  /** Alerts waiting for the mailer (those being sent included). */
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
    this.#pump();
  }

  /** Stop sending; what waits is left undelivered. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#pause);
    this.#pause = undefined;
  }

  /** At the bound: drop the oldest waiting reminder (never one being sent). Returns false if `incoming` itself is dropped. */
  #makeRoom(incoming: Alert): boolean {
    const { log } = this.#options;
    const index = this.#queue.findIndex((a) => a.reminder !== undefined && !this.#sending.has(a));
    if (index >= 0) {
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

  /** Start requests while there is room, no backoff runs, and alerts can go. */
  #pump(): void {
    while (!this.#closed && this.#pause === undefined && this.#requests < this.#inFlight) {
      const batch = this.#nextBatch(Math.max(1, this.#options.batchLimit?.() ?? 1));
      if (batch.length === 0) return;
      this.#requests += 1;
      for (const a of batch) this.#sending.add(a);
      void this.#request(batch);
    }
  }

  /**
   * The oldest alerts that may go now, at most `limit`, at most one per target:
   * an alert whose target has an older alert waiting or on the wire waits too.
   * The scan is bounded, so a queue of one target's alerts costs little per request.
   */
  #nextBatch(limit: number): Alert[] {
    const seen = new Set<string | undefined>();
    const batch: Alert[] = [];
    const scanLimit = this.#sending.size + limit * 8;
    for (let i = 0; i < this.#queue.length && i < scanLimit && batch.length < limit; i++) {
      const alert = this.#queue[i]!;
      if (seen.has(alert.target)) continue;
      seen.add(alert.target);
      if (!this.#sending.has(alert)) batch.push(alert);
    }
    return batch;
  }

  async #request(batch: Alert[]): Promise<void> {
    let results: MailerResult[];
    try {
      results = await this.#options.send(batch);
    } catch (err) {
      results = batch.map(() => ({ ok: false, retry: true, error: `internal error sending alerts: ${(err as Error).message}` }));
    }
    this.#requests -= 1;
    for (const a of batch) this.#sending.delete(a);
    if (this.#closed) return;
    this.#settle(batch, results);
    this.#pump();
  }

  #settle(batch: Alert[], results: MailerResult[]): void {
    const { log, events } = this.#options;
    const done = new Set<Alert>();
    let retry: (MailerResult & { ok: false }) | undefined;
    let retried: Alert | undefined;
    batch.forEach((alert, i) => {
      const result = results[i] ?? { ok: false, retry: true, error: 'no answer for this alert' };
      if (result.ok) {
        done.add(alert);
        log.debug(`Alert ${alert.id} delivered to the mailer`, { id: alert.id, status: alert.status });
        events?.alertDelivered?.(alert);
        this.#options.onDelivered?.(alert);
      } else if (!result.retry) {
        done.add(alert);
        log.error(`Alert not delivered: ${result.error}`, { event: 'refused', id: alert.id, status: alert.status, target: alert.target });
        events?.alertFailed?.(alert, result.error);
      } else if (retry === undefined) {
        retry = result;
        retried = alert;
      }
    });
    if (done.size > 0) {
      const prefix = done.size <= this.#queue.length && this.#queue.slice(0, done.size).every((a) => done.has(a));
      if (prefix) this.#queue.splice(0, done.size);
      else this.#queue = this.#queue.filter((a) => !done.has(a));
      if (this.#queue.length < this.#maxPending) this.#overBoundWarned = false;
    }
    if (retry === undefined) {
      if (done.size > 0) this.#attempt = 0;
      return;
    }
    // Another request's failure already set the backoff: one wait, one line.
    if (this.#pause !== undefined) return;
    this.#attempt += 1;
    this.#backOff(retry, retried!);
  }

  #backOff(result: MailerResult & { ok: false }, alert: Alert): void {
    const { log } = this.#options;
    const attempt = this.#attempt;
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
    this.#pause = setTimeout(() => {
      this.#pause = undefined;
      this.#pump();
    }, delay);
  }
}
