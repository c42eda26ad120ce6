/**
 * The dispatcher's mute stage: at send time (before each attempt, and for
 * each member of a group at its flush) the silence in force on the alert for
 * its channel, from the NotifyPolicy, holds the delivery back. A held
 * delivery is kept, owed, and recorded as `silenced` (GET /alerts, the
 * incident's deliveries); its queue goes on with the target's next alert.
 *
 * Held deliveries are looked at again when the policy signals a change (a
 * silence removed, an incident closed) and when the soonest of their
 * silences ends by the clock. One still muted stays held (a down whose
 * incident has closed meanwhile is settled as skipped: it will never be
 * due). One no longer muted goes back to its channel's queue: a down if its
 * incident is still open, an up always (the dispatcher's told-check decides
 * it); a down whose incident closed while the silence lasted is settled as
 * skipped. Nothing held is sent, lost or dead-lettered without one of these.
 */
import type { Logger } from '../../shared/logger.ts';
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import type { Outbox } from '../store/outbox.ts';
import { type Mute, NO_POLICY, type NotifyPolicy } from '../notify-policy.ts';

/** A timer longer than this (setTimeout's limit is about 24.8 days) is set again when it fires. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export interface Delivery {
  item: QueuedAlert;
  channel: { name: string };
}

export interface MuteStageOptions<J extends Delivery> {
  outbox: Outbox;
  log: Logger;
  now: () => number;
  /** A delivery no longer held goes back to its channel's queue. */
  requeue: (job: J) => void;
}

export class MuteStage<J extends Delivery> {
  readonly #o: MuteStageOptions<J>;
  #policy: NotifyPolicy = NO_POLICY;
  /** Held deliveries by alert id and channel, in the order they were held. */
  readonly #held = new Map<string, { job: J; until: number }>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MuteStageOptions<J>) {
    this.#o = options;
  }

  get policy(): NotifyPolicy {
    return this.#policy;
  }

  /** Deliveries held now. */
  get size(): number {
    return this.#held.size;
  }

  use(policy: NotifyPolicy, changed: () => void): void {
    this.#policy = policy;
    policy.onChange(changed);
  }

  /** The silence muting this delivery now, if any. */
  mute(job: J): Mute | undefined {
    return this.#policy.muted(job.item, job.channel.name, this.#o.now());
  }

  /** True when a silence holds the delivery back now: it is held (recorded, looked at again later). */
  holds(job: J): boolean {
    const mute = this.mute(job);
    if (!mute) return false;
    this.hold(job, mute);
    return true;
  }

  hold(job: J, mute: Mute): void {
    const { item, channel } = job;
    const id = item.alert.id;
    const fresh = !this.#held.has(key(job));
    this.#held.set(key(job), { job, until: mute.until });
    this.#o.outbox.hold(id, channel.name, `held by silence ${mute.id} until ${new Date(mute.until).toISOString()}`);
    if (fresh) this.#o.log.info(`Alert ${id} via ${channel.name} is silenced (silence ${mute.id}); kept, sent when the silence ends if still due.`, { event: 'silenced', id, channel: channel.name, silence: mute.id });
    this.#arm();
  }

  /** A delivery a previous run left held: looked at again at the next review. */
  restore(job: J): void {
    this.#held.set(key(job), { job, until: 0 });
  }

  /** Look at every held delivery again (a change was signalled, a silence ended, or after a resume). */
  review(): void {
    if (this.#closed) return;
    const { outbox, log } = this.#o;
    for (const [k, { job }] of [...this.#held]) {
      const { item, channel } = job;
      const id = item.alert.id;
      const mute = this.mute(job);
      const open = this.#policy.incidentOpen(incidentKey(item));
      if (mute && (open || item.alert.status === 'up')) {
        this.#held.set(k, { job, until: mute.until });
        continue;
      }
      this.#held.delete(k);
      if (item.alert.status === 'down' && !open) {
        this.skip(job, mute ? 'silenced; its incident closed while the silence lasted' : 'silenced until its incident closed');
        continue;
      }
      outbox.hold(id, channel.name, false);
      log.info(`Alert ${id} via ${channel.name}: its silence ended; sending it.`, { event: 'unsilenced', id, channel: channel.name });
      this.#o.requeue(job);
    }
    this.#arm();
  }

  /** The channel is done with the delivery without sending it (settled as skipped), and says why. */
  skip(job: J, why: string): void {
    const id = job.item.alert.id;
    this.#o.outbox.settle(id, job.channel.name, 'skipped', why, false);
    this.#o.log.info(`Alert ${id} via ${job.channel.name} not sent: ${why}.`, { event: 'skipped', id, channel: job.channel.name });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** A timer for the soonest end among the held deliveries' silences. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed || this.#held.size === 0) return;
    let soonest = Infinity;
    for (const h of this.#held.values()) soonest = Math.min(soonest, h.until);
    const delay = Math.min(LONGEST_TIMER_MS, Math.max(0, soonest - this.#o.now()));
    this.#timer = setTimeout(() => this.review(), delay);
  }
}

function key(job: Delivery): string {
  return `${job.item.alert.id}\n${job.channel.name}`;
}
