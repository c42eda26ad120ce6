/**
 * PID 1 in a container gets no default signal handling: without handlers,
 * `docker stop` waits 10 s and kills. Both programs stop on SIGTERM and SIGINT:
 *
 * - exit 0 once `close` has finished (exit 1, with one line, if it failed);
 * - exit 1 after `graceMs` if it has not, with one line naming the steps
 *   (`step(what, work)`) still pending: the shutdown did not finish cleanly;
 * - a second SIGTERM or SIGINT meanwhile exits at once, 128 + the signal's
 *   number as a shell reports it (130 for SIGINT, 143 for SIGTERM).
 */
import { constants } from 'node:os';
import { flatten } from './text.ts';

/** Runs one part of the shutdown, named for the line that says what was still pending. */
export type Step = <T>(what: string, work: Promise<T>) => Promise<T>;

export interface ShutdownOptions {
  /** How long `close` may take before the program exits 1 anyway. */
  graceMs: number;
  /** Where the one line goes (the program's logger). */
  report: (line: string) => void;
}

/** The conventional exit code of a program ended by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export function exitOnSignals(close: (step: Step, signal: NodeJS.Signals) => Promise<void>, options: ShutdownOptions): void {
  let stopping = false;
  const pending = new Set<string>();
  const step: Step = (what, work) => {
    pending.add(what);
    const done = (): void => void pending.delete(what);
    work.then(done, done);
    return work;
  };
  const stillPending = (): string => (pending.size > 0 ? [...pending].join(', ') : 'nothing named');
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      const code = signalExitCode(signal);
      options.report(`Second ${signal} while stopping: exiting at once (${code}); still pending: ${stillPending()}.`);
      process.exit(code);
    }
    stopping = true;
    setTimeout(() => {
      options.report(`Stopping took longer than ${options.graceMs}ms: exiting 1; still pending: ${stillPending()}.`);
      process.exit(1);
    }, options.graceMs).unref();
    let closing: Promise<void>;
    try {
      closing = close(step, signal);
    } catch (err) {
      closing = Promise.reject(err);
    }
    closing.then(
      () => process.exit(0),
      (err: unknown) => {
        options.report(`Stopping failed: ${flatten(err instanceof Error ? err.message : String(err), 300)}; exiting 1.`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
