/**
 * Several mailers on one database: grouping and rate limits hold per
 * destination across them, because each destination has one owner, the only
 * mailer that sends to it. A mailer holding a delivery for a destination it
 * does not own hands the claim over (the store's handOver: fenced, then
 * NOTIFY; postgres-owners.ts) instead of queuing it; the owner groups and
 * rate-limits it with its own.
 *
 * Destination, as the dispatcher keys its state: a rate-limited channel's
 * gate is the channel's (rate-gate.ts, one per lane), so the channel is the
 * destination; otherwise a grouping channel's groups are per recipient
 * (grouper.ts: the address, lower-cased), so channel + recipient is. A
 * channel neither grouping nor rate-limited (log, exec, a webhook without
 * group, …) has no destination here: it stays with whichever mailer holds
 * it, with no added latency.
 *
 * Owner: rendezvous hashing (shared/rendezvous.ts) of the destination over
 * the live mailers, sorted by name, so each mailer computes the same owner
 * alone, and a mailer joining or leaving moves only the destinations it wins
 * or held. Why not a lease or advisory lock per destination: every send
 * would wait for a lock round trip, and a dead owner's locks need their own
 * expiry; the membership is already on the server (its sessions) and the
 * claims carry the hand-over and its failure (a lapsed lease). While views
 * of the membership differ (a mailer just joined or died, up to about a
 * second), two mailers may each think they own a destination: one extra
 * group, or one send past the rate, at such a change. A delivery that came
 * by hand-over (or any take-over: the store does not say which) is never
 * handed on again, so views that differ cannot bounce it; one whose
 * hand-over fails (the database did not answer) is sent here.
 * A held (silenced) delivery, and a retry, stay where they are.
 */
import { owners } from '../../shared/rendezvous.ts';

/** What the store says (Store.destinations, wired in main.ts). */
/** How long a delivery taken over here is kept from being handed on (longer than any view of the membership differs). */
const RECEIVED_KEEP_MS = 600_000;

export interface Owners {
  me: string;
  /** The live mailers; undefined or one: no hand-over. */
  members(): readonly string[] | undefined;
  /** True once the delivery is no longer this mailer's; false: deliver it here. */
  handOver(id: string, channel: string, to: string): Promise<boolean>;
}

export interface Destination {
  channel: string;
  grouping: boolean;
  rateLimited: boolean;
  /** The alert's recipient. */
  to: string;
}

/** The destination's key, or undefined for a channel that is neither grouping nor rate-limited. */
export function destinationKey(d: Destination): string | undefined {
  if (d.rateLimited) return `rate\n${d.channel}`;
  if (d.grouping) return `group\n${d.channel}\n${d.to.toLowerCase()}`;
  return undefined;
}

/** The owner of a key among these members (any order: sorted here, so every mailer agrees). */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  const sorted = [...new Set(members)].sort();
  if (sorted.length === 0) return undefined;
  return sorted[owners(key, sorted.length)[0]!];
}

export class DestinationOwner {
  readonly #owners: Owners;
  /** Deliveries (id, channel) taken over here (by hand-over or lapse), and when: kept, whatever this mailer's view. */
  readonly #received = new Map<string, number>();
  readonly #now: () => number;

  constructor(owners: Owners, now: () => number = () => performance.now()) {
    this.#owners = owners;
    this.#now = now;
  }

  /** Another mailer owns this destination: the one to hand it to; undefined: deliver it here. */
  elsewhere(id: string, d: Destination): string | undefined {
    const key = destinationKey(d);
    const members = this.#owners.members();
    if (key === undefined || !members || members.length < 2 || this.#received.has(`${id}\n${d.channel}`)) return undefined;
    const owner = ownerOf(key, members);
    return owner === undefined || owner === this.#owners.me ? undefined : owner;
  }

  /** These deliveries were taken over (Store.watchClaims adopted): not handed on (remembered for RECEIVED_KEEP_MS). */
  received(id: string, channels: readonly string[]): void {
    const now = this.#now();
    for (const [k, at] of this.#received) {
      if (now - at < RECEIVED_KEEP_MS) break; // in insertion order: the rest are younger
      this.#received.delete(k);
    }
    for (const channel of channels) this.#received.set(`${id}\n${channel}`, now);
  }

  /**
   * Hand the delivery to its owner when another mailer owns its destination:
   * true when it is on its way there (`keep` runs if the hand-over fails:
   * deliver it here); false, deliver it here now.
   */
  handOver(id: string, d: Destination, keep: () => void): boolean {
    const to = this.elsewhere(id, d);
    if (to === undefined) return false;
    this.#owners.handOver(id, d.channel, to).then(
      (gone) => gone || keep(),
      () => keep(),
    );
    return true;
  }
}
