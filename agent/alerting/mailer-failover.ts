/**
 * Several mailers (`--mailer m1:33333,m2:33333`): alerts and reports go to
 * the first mailer of the list that answers, and fail over along it.
 *
 * The order: the list's, first to last, skipping a mailer held after a
 * failure; held mailers are tried last (still in the list's order), so one
 * send tries every mailer before the notifier backs off. A failure holds a
 * mailer for 1 s, then 2 s, 4 s, … at most 30 s while it keeps failing; the
 * first send after the hold tries it first again, so the agent comes back to
 * an earlier mailer within 30 s of its recovery. A mailer that answers
 * loses its hold at once. Alerts and reports share this state. A connection
 * to one of several mailers may take FAILOVER_CONNECT_MS (a host that
 * vanished answers nothing at all), then the alert moves on.
 *
 * What moves an alert on to the next mailer: a failure the agent would retry
 * (no connection, a TLS failure, a timeout, a 5xx, 408, 429) and a refusal
 * of our credentials (401, 403: that mailer's --token differs). What does
 * not: an answer about the alert itself (another 4xx), which no other mailer
 * could change. An alert keeps its id from mailer to mailer, so a repeat at
 * another mailer (the first had taken it but its answer was lost) is a
 * duplicate the mailers' shared store refuses.
 *
 * The log: one line each time the mailer that takes the sends changes (a
 * warning when it fails over, an info line when an earlier one answers
 * again), at most one in LINE_EVERY_MS: the changes within that time are
 * debug lines, and at its end one line says where the sends go then, and
 * how many changes it leaves out. One mailer: none of this; its client is
 * used as it is.
 */
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.ts';
import { hostPort, type LinkEndpoint } from '../../shared/legacy-links.ts';
import type { Logger } from '../../shared/logger.ts';
import type { MailerLink, MailerResult } from './mailer-client.ts';
import type { ReportOutcome, SendReport } from './report-client.ts';

/** A failed mailer's hold: 1 s, doubling to 30 s. */
export const HOLD: BackoffPolicy = { baseMs: 1000, maxMs: 30_000, jitter: 0 };
/** With several mailers, the most time a connection to one may take before the alert moves on (one mailer: the whole request's 5 s). */
export const FAILOVER_CONNECT_MS = 2000;
/** The least time between two failover lines. */
export const LINE_EVERY_MS = 10_000;

/** A one-shot timer: returns its cancel. */
export type Later = (ms: number, fn: () => void) => () => void;

const realLater: Later = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export class MailerChoice {
  readonly names: readonly string[];
  readonly #log: Pick<Logger, 'info' | 'warn' | 'debug'>;
  readonly #clock: () => number;
  readonly #later: Later;
  readonly #failures: number[];
  readonly #heldUntil: number[];
  readonly #reasons: string[];
  /** The mailer that took the last send, and the one the last line named. */
  #serving = 0;
  #said = 0;
  #lineAt = Number.NEGATIVE_INFINITY;
  #unsaid = 0;
  #pending: (() => void) | undefined;

  constructor(mailers: readonly LinkEndpoint[], log: Pick<Logger, 'info' | 'warn' | 'debug'>, clock: () => number = Date.now, later: Later = realLater) {
    this.names = mailers.map(hostPort);
    this.#log = log;
    this.#clock = clock;
    this.#later = later;
    this.#failures = mailers.map(() => 0);
    this.#heldUntil = mailers.map(() => Number.NEGATIVE_INFINITY);
    this.#reasons = mailers.map(() => '');
  }

  /** The mailers to try, in order: those not held, then the held ones, each group in the list's order. */
  order(): number[] {
    const now = this.#clock();
    const all = this.names.map((_, i) => i);
    return [...all.filter((i) => this.#heldUntil[i]! <= now), ...all.filter((i) => this.#heldUntil[i]! > now)];
  }

  /** Mailer `i` failed a send (`reason`: one line that names it). */
  failed(i: number, reason: string): void {
    this.#failures[i]! += 1;
    this.#heldUntil[i] = this.#clock() + backoffDelay(this.#failures[i]!, HOLD);
    this.#reasons[i] = reason;
  }

  /**
   * Mailer `i` answered a send. A change of mailer is a line, or, within
   * LINE_EVERY_MS of the last one, a debug line and, at the end of that
   * time, one line for where the sends go then (if not where the last said).
   */
  worked(i: number): void {
    this.#failures[i] = 0;
    this.#heldUntil[i] = Number.NEGATIVE_INFINITY;
    if (i === this.#serving) return;
    this.#serving = i;
    const wait = this.#lineAt + LINE_EVERY_MS - this.#clock();
    if (wait <= 0 && this.#pending === undefined) {
      this.#say(this.#unsaid);
      return;
    }
    this.#unsaid += 1;
    this.#log.debug(`Alerts and reports now go to the mailer at ${this.names[i]}.`, { event: 'failover', mailer: this.names[i] });
    this.#pending ??= this.#later(Math.max(0, wait), () => {
      this.#pending = undefined;
      if (this.#serving !== this.#said) this.#say(this.#unsaid - 1);
    });
  }

  /** One line: the sends go to #serving now, no longer to #said; `others`: the changes it leaves out. */
  #say(others: number): void {
    const from = this.#said;
    const to = this.#serving;
    this.#said = to;
    this.#lineAt = this.#clock();
    const more = others > 0 ? ` (${others} more change${others === 1 ? '' : 's'} of mailer since the last such line)` : '';
    this.#unsaid = 0;
    const fields = { event: 'failover', mailer: this.names[to], from: this.names[from] };
    if (to > from) this.#log.warn(`Failing over: ${this.#reasons[from] || `the mailer at ${this.names[from]} failed`}; alerts and reports now go to the mailer at ${this.names[to]}${more}.`, fields);
    else this.#log.info(`The mailer at ${this.names[to]} answers again; alerts and reports go back to it${more}.`, fields);
  }

  /** `error` naming mailer `i` (the clients' errors mostly do already). */
  named(i: number, error: string): string {
    const name = this.names[i]!;
    return error.includes(name) ? error : `${name}: ${error}`;
  }
}

/** Whether a send's result moves the alert on to the next mailer. */
export function movesOn(result: MailerResult): boolean {
  return !result.ok && result.retry;
}

/** One link over several mailers' links (one link: itself). */
export function failoverLink(links: readonly MailerLink[], choice: MailerChoice): MailerLink {
  if (links.length === 1) return links[0]!;
  const send = async (alerts: Parameters<MailerLink['send']>[0]): Promise<MailerResult[]> => {
    const results: MailerResult[] = new Array<MailerResult>(alerts.length);
    const errors: string[][] = alerts.map(() => []);
    let left = alerts.map((_, j) => j);
    for (const i of choice.order()) {
      let got: MailerResult[];
      try {
        got = await links[i]!.send(left.map((j) => alerts[j]!));
      } catch (err) {
        got = left.map(() => ({ ok: false, retry: true, error: `internal error sending alerts: ${(err as Error).message}` }));
      }
      const again: number[] = [];
      left.forEach((j, x) => {
        const result = got[x] ?? { ok: false, retry: true, error: 'no answer for this alert' };
        results[j] = result;
        if (movesOn(result)) {
          again.push(j);
          errors[j]!.push(choice.named(i, (result as { error: string }).error));
        }
      });
      if (again.length === left.length) choice.failed(i, errors[again[0]!]!.at(-1)!);
      else choice.worked(i);
      left = again;
      if (left.length === 0) break;
    }
    // Past every mailer: the last result, saying what each mailer answered.
    for (const j of left) results[j] = { ...(results[j] as MailerResult & { ok: false }), error: `no mailer took the alert: ${errors[j]!.join('; ')}` };
    return results;
  };
  return { send, batchLimit: () => links[choice.order()[0]!]!.batchLimit(), inFlight: links[0]!.inFlight };
}

/** One report sender over several mailers' (one: itself): the first outcome no other mailer could change. */
export function failoverReports(sends: readonly SendReport[], choice: MailerChoice): SendReport {
  if (sends.length === 1) return sends[0]!;
  return async (report, timeoutMs) => {
    const errors: string[] = [];
    let last: ReportOutcome | undefined;
    for (const i of choice.order()) {
      last = await sends[i]!(report, timeoutMs);
      if (last.ok || !last.elsewhere) {
        choice.worked(i);
        return last;
      }
      errors.push(choice.named(i, last.error));
      choice.failed(i, errors.at(-1)!);
    }
    return { ...(last as ReportOutcome & { ok: false }), error: `no mailer took the report: ${errors.join('; ')}` };
  };
}
