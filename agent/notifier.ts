/**
 * The agent's outbox to the mailer: alerts wait here, in order, until the
 * mailer takes them. Sending runs beside the checks and never delays them.
 * A transient failure (mailer down) is retried with backoff, keeping the same
 * alert id; a permanent refusal is logged and dropped, since resending cannot
 * change the answer.
 */
import type { Alert } from '../shared/alert.ts';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from '../shared/backoff.ts';
import type { Logger } from '../shared/logger.ts';
import type { SendAlert } from './mailer-client.ts';

export interface NotifierOptions {
  send: SendAlert;
  log: Logger;
  /** Most alerts held while the mailer is away. */
  maxPending?: number;
  backoff?: BackoffPolicy;
  onDelivered?: (alert: Alert) => void;
}

export class Notifier {
  readonly #queue: Alert[] = [];
  readonly #options: NotifierOptions;
  readonly #maxPending: number;
  #running = false;
  #closed = false;
  #dropped = 0;
  #wake: (() => void) | undefined;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? 1000;
  }

  get pending(): number {
    return this.#queue.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  enqueue(alert: Alert): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxPending) {
      // Keep the newest state change; the oldest waiting alert makes room.
      const old = this.#queue.splice(1, 1)[0] ?? this.#queue.shift();
      this.#dropped += 1;
      this.#options.log.warn(`Alert queue full (${this.#maxPending}); dropped alert ${old?.id ?? '?'}`, { dropped: this.#dropped });
    }
    this.#queue.push(alert);
    if (!this.#running) void this.#drain();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    const { send, log } = this.#options;
    let attempt = 0;
    while (!this.#closed && this.#queue.length > 0) {
      const alert = this.#queue[0]!;
      const result = await send(alert);
      if (this.#closed) break;
      if (result.ok) {
        attempt = 0;
        this.#queue.shift();
        log.debug(`Alert ${alert.id} delivered to the mailer`, { id: alert.id, status: alert.status });
        this.#options.onDelivered?.(alert);
        continue;
      }
      if (!result.retry) {
        attempt = 0;
        this.#queue.shift();
        log.error(`Alert not delivered: ${result.error}`, { id: alert.id, status: alert.status });
        continue;
      }
      attempt += 1;
      const delay = Math.max(result.retryAfterMs ?? 0, backoffDelay(attempt, this.#options.backoff ?? DEFAULT_BACKOFF));
      log.warn(`${result.error}; retrying in ${(delay / 1000).toFixed(1)}s (${this.#queue.length} alert${this.#queue.length === 1 ? '' : 's'} waiting)`, {
        id: alert.id,
        attempt,
      });
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
