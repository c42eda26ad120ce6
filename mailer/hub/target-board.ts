/**
 * What the hub knows of each target now: the ledger's views (quorum.ts: what
 * each live agent watching it says, from its alerts and its reports), the
 * word of its latest alert by hand (one naming no agent), the state shown
 * from them, since when, its last failure, and its time buckets (rollup.ts).
 * Shown: down while its incident is open or at least --quorum live agents see
 * it down; else up when one sees it up; unknown when they say nothing yet;
 * stale when no live agent watches it any more (why: staleWhy). A target no
 * agent ever watched goes by its alerts' word. A state change is written to
 * the store and returned, so the hub can tell the page at once. An https
 * target's certificate expiry is the latest report's word (kept in memory
 * only: the next report brings it back after a restart).
 */
import type { TargetReport } from '../../shared/wire-report.ts';
import { type HubWrite, NO_BUCKETS, PACKED_WIDTH, type PackedBuckets, type ShownState, type TargetRow } from './model.ts';
import { downs, see, type View, type Views } from './quorum.ts';
import { TargetRollup } from './rollup.ts';

export interface TargetEntry {
  name: string;
  /** The live agents' views of it, by agent name (the ledger's, quorum.ts). */
  agents: Views;
  alerted: 'up' | 'down' | null;
  state: ShownState;
  since: number | null;
  lastFailure: string | null;
  /** Why it is stale, while it is. */
  staleWhy: string | null;
  /** When its certificate (the soonest of the chain) expires, ISO 8601, as the latest report said; null if none did. */
  certExpiresAt: string | null;
  /** When an agent last named it in a report (--forget-after counts from it). */
  reportedAt: number | null;
  rollup: TargetRollup;
}

/** The board's settings: the quorum, and whether the hub has an incident open on a target. */
export interface BoardRules {
  quorum: number;
  openOn: (target: string) => boolean;
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
  readonly #rules: BoardRules;

  constructor(
    write: (w: HubWrite) => void,
    rows: readonly TargetRow[] = [],
    buckets: PackedBuckets = NO_BUCKETS,
    agents: ReadonlyArray<{ name: string; instance?: string; lastReportAt?: number; state?: string; targets: ReadonlyArray<{ name: string; state: View['state'] }> }> = [],
    rules: BoardRules = { quorum: 1, openOn: () => false },
  ) {
    this.#write = write;
    this.#rules = rules;
    for (const r of rows) {
      const reportedAt = r.reportedAt ?? null;
      this.#targets.set(r.name, { name: r.name, agents: new Map(), alerted: r.alerted, state: r.state, since: r.since, lastFailure: r.lastFailure, staleWhy: r.staleWhy ?? null, certExpiresAt: null, reportedAt, rollup: new TargetRollup() });
    }
    // Only live agents have views: a stopped or silent one's targets stay stale after a restart of the mailer.
    for (const a of agents) {
      for (const t of a.targets) {
        const e = this.#entry(t.name);
        if (!e) continue;
        if (a.lastReportAt !== undefined) e.reportedAt = Math.max(e.reportedAt ?? 0, a.lastReportAt);
        if (a.state === undefined || a.state === 'reporting') e.agents.set(a.name, { instance: a.instance ?? '', state: t.state, source: 'report', at: a.lastReportAt ?? 0 });
      }
    }
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
   * and the agent's word on it (word: its instance and the report's sentAt;
   * by default the report's arrival); `dropped` are targets the agent watched
   * before and no longer names. Returns the targets whose shown state changed.
   */
  report(agent: string, targets: readonly TargetReport[], dropped: readonly string[], now: number, word: { instance: string; at: number; shared?: boolean } = { instance: '', at: now }): TargetEntry[] {
    const changed: TargetEntry[] = [];
    for (const name of dropped) {
      const e = this.#targets.get(name);
      if (e?.agents.delete(agent) && this.settle(e, now, `agent ${agent} no longer watches it`)) changed.push(e);
    }
    for (const t of targets) {
      const e = this.#entry(t.name);
      if (!e) continue;
      if (t.checks > 0) e.rollup.add(now, t.checks, t.failures, t.latency);
      see(e.agents, agent, { instance: word.instance, state: t.state, source: 'report', at: word.at }, word.shared === true);
      e.reportedAt = now;
      if (t.certExpiresAt !== undefined) e.certExpiresAt = t.certExpiresAt;
      let dirty = false;
      if (t.lastFailure !== undefined && t.lastFailure !== e.lastFailure) {
        e.lastFailure = t.lastFailure;
        dirty = true;
      }
      if (this.settle(e, now)) changed.push(e);
      else if (dirty) this.#persist(e);
    }
    return changed;
  }

  /** An agent stopped, went silent or was forgotten: it has no views any more. Returns the targets whose shown state changed. */
  drop(agent: string, why: string, now: number): TargetEntry[] {
    const changed: TargetEntry[] = [];
    for (const e of this.#targets.values()) if (e.agents.delete(agent) && this.settle(e, now, why)) changed.push(e);
    return changed;
  }

  /** Forget a target (its buckets too, in the store). */
  forget(name: string): boolean {
    if (!this.#targets.delete(name)) return false;
    this.#write({ op: 'forget-target', name });
    return true;
  }

  /**
   * Another mailer's row of an agent (a shared store: hub-sync.ts): its views as its latest report
   * there gave them (a reporting agent's; a stopped or silent one has none), an alert's later word
   * kept. Nothing is settled or written: that mailer's target rows say what it decided.
   */
  adoptViews(a: { name: string; instance: string; lastReportAt: number; state: string; targets: ReadonlyArray<{ name: string; state: View['state']; at?: number }> }, before: Iterable<string>): string[] {
    const named = new Map(a.state === 'reporting' ? a.targets.map((t) => [t.name, t]) : []);
    for (const name of before) if (!named.has(name)) this.#targets.get(name)?.agents.delete(a.name);
    for (const [name, t] of named) {
      const e = this.#entry(name);
      const v = e?.agents.get(a.name);
      const at = t.at ?? a.lastReportAt;
      if (!e || (v && v.instance === a.instance && v.at > at)) continue;
      e.agents.set(a.name, { instance: a.instance, state: t.state, source: 'report', at });
      e.reportedAt = Math.max(e.reportedAt ?? 0, a.lastReportAt);
    }
    return [...named.keys()];
  }

  /** Another mailer's row of a target (a shared store): what it shows, as it decided; true when the state shown here changed. Not written back. */
  adoptRow(r: TargetRow): TargetEntry | undefined {
    const e = this.#entry(r.name);
    if (!e) return undefined;
    Object.assign(e, { state: r.state, since: r.since, lastFailure: r.lastFailure, alerted: r.alerted, staleWhy: r.staleWhy ?? null });
    if (r.reportedAt != null) e.reportedAt = Math.max(e.reportedAt ?? 0, r.reportedAt);
    return e;
  }

  /** Forgotten at another mailer (a shared store): gone here too, nothing written. */
  forgotElsewhere(name: string): boolean {
    return this.#targets.delete(name);
  }

  /** An alert's word on a target (one naming no agent; at: when it was seen); the entry when its shown state changed. */
  alert(name: string, status: 'up' | 'down', at: number, reason: string | undefined): TargetEntry | undefined {
    const e = this.#entry(name);
    if (!e) return undefined;
    e.alerted = status;
    if (reason !== undefined) e.lastFailure = reason;
    if (this.settle(e, at)) return e;
    this.#persist(e);
    return undefined;
  }

  /** An incident opened on the target at `at`: counted into its bar. */
  incidentOpened(name: string, at: number): void {
    this.#entry(name)?.rollup.add(at, 0, 0, undefined, 1);
  }

  /** The entry of a target, made if new (and room is left). */
  entry(name: string): TargetEntry | undefined {
    return this.#entry(name);
  }

  #entry(name: string): TargetEntry | undefined {
    let e = this.#targets.get(name);
    if (!e && this.#targets.size < MAX_TARGETS) {
      e = { name, agents: new Map(), alerted: null, state: 'unknown', since: null, lastFailure: null, staleWhy: null, certExpiresAt: null, reportedAt: null, rollup: new TargetRollup() };
      this.#targets.set(name, e);
    }
    return e;
  }

  /** Work out the shown state again (why: what made it stale, if it is now); true (and written) when it changed. */
  settle(e: TargetEntry, now: number, why?: string): boolean {
    const state = this.#shown(e);
    if (state === e.state) return false;
    e.staleWhy = state === 'stale' ? (why ?? 'no live agent watches it') : null;
    e.state = state;
    e.since = now;
    this.#persist(e);
    return true;
  }

  #shown(e: TargetEntry): ShownState {
    const said = [...e.agents.values()].map((v) => v.state);
    if (said.length === 0) {
      // An agent reported it once and no live agent watches it now: stale, whatever its incident.
      if (e.reportedAt !== null || e.state === 'stale') return 'stale';
      return e.alerted === 'down' ? 'down' : e.alerted === 'up' ? 'up' : 'unknown';
    }
    if (this.#rules.openOn(e.name) || downs(e.agents).length >= this.#rules.quorum || e.alerted === 'down') return 'down';
    return said.includes('up') || e.alerted === 'up' ? 'up' : 'unknown';
  }

  #persist(e: TargetEntry): void {
    this.#write({ op: 'target', row: { name: e.name, state: e.state, since: e.since, lastFailure: e.lastFailure, alerted: e.alerted, staleWhy: e.staleWhy, reportedAt: e.reportedAt } });
  }
}
