/**
 * What the hub knows of each target now: what each agent watching it said in
 * its latest report, the word of its latest alert, the state shown from them
 * (down when any agent says down or a down alert has had no up yet; then up
 * when any agent says up), since when, its last failure, and its time
 * buckets (rollup.ts). A state change is written to the store and returned,
 * so the hub can tell the page at once.
 */
import type { TargetReport, TargetState } from '../../shared/wire-report.ts';
import { type HubWrite, NO_BUCKETS, PACKED_WIDTH, type PackedBuckets, type TargetRow } from './model.ts';
import { TargetRollup } from './rollup.ts';

export interface TargetEntry {
  name: string;
  /** Agent name: what it said of the target in its latest report. */
  agents: Map<string, TargetState>;
  alerted: 'up' | 'down' | null;
  state: TargetState;
  since: number | null;
  lastFailure: string | null;
  rollup: TargetRollup;
}

/**
 * At most this many targets are kept (each holds about 9 KB of buckets in
 * memory: 90 MB at the cap): a report naming more is kept only for those
 * the board takes (admit; hub.ts drops the others from the agent's record
 * too), so reports cannot grow the mailer without bound.
 */
export const MAX_TARGETS = 10_000;

export class TargetBoard {
  readonly #targets = new Map<string, TargetEntry>();
  readonly #write: (w: HubWrite) => void;

  constructor(write: (w: HubWrite) => void, rows: readonly TargetRow[] = [], buckets: PackedBuckets = NO_BUCKETS, agents: ReadonlyArray<{ name: string; targets: ReadonlyArray<{ name: string; state: TargetState }> }> = []) {
    this.#write = write;
    for (const r of rows) this.#targets.set(r.name, { name: r.name, agents: new Map(), alerted: r.alerted, state: r.state, since: r.since, lastFailure: r.lastFailure, rollup: new TargetRollup() });
    for (const a of agents) for (const t of a.targets) this.#entry(t.name)?.agents.set(a.name, t.state);
    const { names, rows: packed } = buckets;
    for (let o = 0; o + PACKED_WIDTH <= packed.length; o += PACKED_WIDTH) this.#entry(names[packed[o]!]!)?.rollup.load(packed, o);
  }

  get(name: string): TargetEntry | undefined {
    return this.#targets.get(name);
  }

  /** Of a report's targets, in order, those the board can keep: known names, and new ones while it has room; at most `limit`. */
  admit<T extends { name: string }>(targets: readonly T[], limit: number): T[] {
    const kept: T[] = [];
    let free = MAX_TARGETS - this.#targets.size;
    for (const t of targets) {
      if (kept.length >= limit) break;
      if (this.#targets.has(t.name)) kept.push(t);
      else if (free > 0) {
        free -= 1;
        kept.push(t);
      }
    }
    return kept;
  }

  all(): IterableIterator<TargetEntry> {
    return this.#targets.values();
  }

  /**
   * An agent's report received at `now`: each target's checks into its buckets
   * and the agent's word on it; `dropped` are targets the agent watched before
   * and no longer names. Returns the targets whose shown state changed.
   */
  report(agent: string, targets: readonly TargetReport[], dropped: readonly string[], now: number): TargetEntry[] {
    const changed: TargetEntry[] = [];
    for (const name of dropped) {
      const e = this.#targets.get(name);
      if (e?.agents.delete(agent) && this.#settle(e, now)) changed.push(e);
    }
    for (const t of targets) {
      const e = this.#entry(t.name);
      if (!e) continue;
      if (t.checks > 0) e.rollup.add(now, t.checks, t.failures, t.latency);
      e.agents.set(agent, t.state);
      let dirty = false;
      if (t.lastFailure !== undefined && t.lastFailure !== e.lastFailure) {
        e.lastFailure = t.lastFailure;
        dirty = true;
      }
      if (this.#settle(e, now)) changed.push(e);
      else if (dirty) this.#persist(e);
    }
    return changed;
  }

  /** An alert's word on a target (at: when the agent saw it); true when its shown state changed. */
  alert(name: string, status: 'up' | 'down', at: number, reason: string | undefined): TargetEntry | undefined {
    const e = this.#entry(name);
    if (!e) return undefined;
    e.alerted = status;
    if (reason !== undefined) e.lastFailure = reason;
    if (this.#settle(e, at)) return e;
    this.#persist(e);
    return undefined;
  }

  /** An incident opened on the target at `at`: counted into its bar. */
  incidentOpened(name: string, at: number): void {
    this.#entry(name)?.rollup.add(at, 0, 0, undefined, 1);
  }

  #entry(name: string): TargetEntry | undefined {
    let e = this.#targets.get(name);
    if (!e && this.#targets.size < MAX_TARGETS) {
      e = { name, agents: new Map(), alerted: null, state: 'unknown', since: null, lastFailure: null, rollup: new TargetRollup() };
      this.#targets.set(name, e);
    }
    return e;
  }

  /** Work out the shown state again; true (and written) when it changed. */
  #settle(e: TargetEntry, now: number): boolean {
    const said = [...e.agents.values()];
    const state: TargetState = said.includes('down') || e.alerted === 'down' ? 'down' : said.includes('up') || e.alerted === 'up' ? 'up' : 'unknown';
    if (state === e.state) return false;
    e.state = state;
    e.since = now;
    this.#persist(e);
    return true;
  }

  #persist(e: TargetEntry): void {
    this.#write({ op: 'target', row: { name: e.name, state: e.state, since: e.since, lastFailure: e.lastFailure, alerted: e.alerted } });
  }
}
