/**
 * The dispatcher's told stage (stage 4, dispatcher.ts): an up that names an
 * incident goes only to a channel told its down (the nflog, notify-log.ts).
 * Several mailers on one database: the down may have been told by another
 * mailer (the agent failed over, or this mailer took the up over from one
 * that died), so an up whose incident this mailer's log does not know is
 * looked up in the store (Store.toldOf: one query per incident, shared by
 * the up's channels, the answer kept in the log). A store that cannot
 * answer gives a transient failure, retried like a failed send: an up is
 * never skipped for want of an answer. With no such store (SQLite, one
 * mailer) the log is the whole answer.
 */
import type { Alert } from '../../shared/alert.ts';
import { type SendResult, transient } from '../../shared/send-result.ts';
import type { NotifyLog } from './notify-log.ts';

/** The channels told a down of the incident, by whichever mailer (Store.toldOf). */
export type ToldOf = (incident: string) => Promise<readonly string[]>;

export class ToldStage {
  readonly #log: NotifyLog;
  readonly #ask: ToldOf | undefined;
  /** Questions under way, by incident: the up's other channels wait for the same answer. */
  readonly #asking = new Map<string, Promise<void>>();

  constructor(log: NotifyLog, ask?: ToldOf) {
    this.#log = log;
    this.#ask = ask;
  }

  /**
   * Whether the channel is due the alert; a failure (transient) when the
   * store had to be asked and could not say. Synchronous unless it asks.
   */
  due(alert: Alert, channel: string): boolean | Promise<boolean | SendResult> {
    const incident = alert.incident;
    if (alert.status !== 'up' || incident === undefined || !this.#ask || this.#log.knows(incident)) return this.#log.due(alert, channel);
    return this.#learn(incident).then(
      () => this.#log.due(alert, channel),
      (err: unknown) => transient(`cannot read from the store which channels were told incident ${incident}'s down: ${(err as Error).message}`),
    );
  }

  #learn(incident: string): Promise<void> {
    let asking = this.#asking.get(incident);
    if (!asking) {
      asking = this.#ask!(incident)
        .then((channels) => this.#log.learn(incident, channels))
        .finally(() => this.#asking.delete(incident));
      this.#asking.set(incident, asking);
    }
    return asking;
  }
}
