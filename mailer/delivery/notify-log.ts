/**
 * The notification log (Alertmanager's nflog): per incident, the channels
 * that were told its down. An up that names an incident goes only to those
 * channels (DedupStage.needsUpdate: no resolved notice to a receiver never
 * told of the firing one). It is durable through the store: a delivered
 * down is a `delivered` row of hub_deliveries, and the store gives back the
 * pairs of the incidents still open at start (Store.notifyLog), which this
 * index is built from. In memory the pairs of an incident go with its up.
 * Several mailers on one database: an incident told by another mailer is
 * learnt from the store when its up comes here (told-stage.ts), and kept.
 */
import type { Alert } from '../../shared/alert.ts';
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import type { NotifyEntry } from '../store/store.ts';

/** Incidents remembered at most; past it the oldest is forgotten (its up then goes nowhere told). */
export const MAX_TOLD_INCIDENTS = 100_000;

export class NotifyLog {
  readonly #told = new Map<string, Set<string>>();
  /** Incidents whose told channels were learnt from the store (told-stage.ts), even none: not asked again. */
  readonly #learnt = new Set<string>();

  constructor(entries: Iterable<NotifyEntry> = []) {
    for (const e of entries) this.record(e.incident, e.channel);
  }

  /** Whether the channel is due this alert: a down always, an up that names an incident only once told its down. */
  due(alert: Alert, channel: string): boolean {
    return alert.status !== 'up' || alert.incident === undefined || this.told(alert.incident, channel);
  }

  /** The channel delivered the alert: a down is noted; an up ends the channel's part in its incident. */
  delivered(item: QueuedAlert, channel: string): void {
    if (item.alert.status === 'down') this.record(incidentKey(item), channel);
    else if (item.alert.incident !== undefined) this.forget(item.alert.incident, channel);
  }

  /** Whether this log has a word on the incident: a channel told here or at start, or learnt from the store. */
  knows(incident: string): boolean {
    return this.#told.has(incident) || this.#learnt.has(incident);
  }

  /** What the store says the channels were told of the incident (several mailers on one database). */
  learn(incident: string, channels: readonly string[]): void {
    if (this.#learnt.size >= MAX_TOLD_INCIDENTS) this.#learnt.delete(this.#learnt.values().next().value!);
    this.#learnt.add(incident);
    for (const channel of channels) this.record(incident, channel);
  }

  told(incident: string, channel: string): boolean {
    return this.#told.get(incident)?.has(channel) ?? false;
  }

  /** The channel delivered a down of the incident. */
  record(incident: string, channel: string): void {
    let channels = this.#told.get(incident);
    if (!channels) {
      if (this.#told.size >= MAX_TOLD_INCIDENTS) this.#told.delete(this.#told.keys().next().value!);
      channels = new Set();
      this.#told.set(incident, channels);
    }
    channels.add(channel);
  }

  /** The channel is done with the incident's up. */
  forget(incident: string, channel: string): void {
    const channels = this.#told.get(incident);
    channels?.delete(channel);
    if (channels?.size === 0) this.#told.delete(incident);
  }
}
