/**
 * Silences (maintenance windows): a glob on the target name (route-match.ts's
 * globMatch: `*` any run of characters) and/or matchers in the routes'
 * language (route-match.ts compileMatch: targets, to, status, channels),
 * from a start until an end, with a comment. They are asked at send time
 * (the dispatcher's mute stage, through the hub's NotifyPolicy): a delivery
 * of an alert whose target (or `agent:<name>`, for the hub's own
 * agent-silence alarms; `raw:<address>` for the book's raw alerts) and
 * whose channel match a silence in force is held back, and goes out when
 * the silence ends if it is still due. Expired silences stop matching by themselves (their end is
 * compared with the clock) and the store forgets them. A silence is added,
 * or removed, once the store has it on disk (hubCommit): the HTTP answer
 * waits for that, and a silence the store could not write never takes effect.
 * On a store several mailers share, one added or removed at another mailer
 * comes in by sync() (its commit NOTIFYs the others, who read them again).
 *
 * parseSilence reads POST /api/v1/silences (JSON) and the page's form:
 * {target?, match?, until (ISO 8601) | for (a duration: 30m, 2h), comment, startsAt?},
 * at least one of target and match.
 */
import { randomUUID } from 'node:crypto';
import { ALERT_STATUSES, type Alert, type AlertStatus } from '../../shared/alert.ts';
import { parseDuration } from '../../shared/duration.ts';
import { compileMatch, globMatch, type Matcher, type MatchSpec } from '../../shared/alert-match.ts';
import type { HubWrite, SilenceRow } from './model.ts';

export const MAX_SILENCES = 1000;
const MAX_SILENCE_MS = 366 * 86_400_000;

export type SilenceParse = { ok: true; value: Omit<SilenceRow, 'id' | 'createdAt'> } | { ok: false; error: string };

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseSilence(data: unknown, now: number): SilenceParse {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, error: 'a silence must be an object' };
  const record = data as Record<string, unknown>;
  const unknown = Object.keys(record).find((k) => !['target', 'match', 'until', 'for', 'comment', 'startsAt'].includes(k));
  if (unknown !== undefined) return { ok: false, error: `unknown field ${JSON.stringify(unknown.slice(0, 40))}` };
  let match: MatchSpec | undefined;
  if (record.match !== undefined) {
    const m = matchOf(record.match);
    if (typeof m === 'string') return { ok: false, error: m };
    match = m;
  }
  const target = text(record.target)?.trim() ?? '';
  if ((target.length === 0 && (match === undefined || (record.target !== undefined && record.target !== ''))) || target.length > 256 || /[\x00-\x1f\x7f]/.test(target)) {
    return { ok: false, error: 'target must be a glob of 1 to 256 printable characters (e.g. web-*)' };
  }
  const comment = text(record.comment) ?? '';
  if (record.comment !== undefined && typeof record.comment !== 'string') return { ok: false, error: 'comment must be a string' };
  if (comment.length > 1024) return { ok: false, error: 'comment must be at most 1024 characters' };
  let startsAt = now;
  if (record.startsAt !== undefined && record.startsAt !== '') {
    const s = text(record.startsAt);
    startsAt = s === undefined ? NaN : Date.parse(s);
    if (Number.isNaN(startsAt)) return { ok: false, error: 'startsAt must be an ISO 8601 date' };
  }
  const hasUntil = record.until !== undefined && record.until !== '';
  const hasFor = record.for !== undefined && record.for !== '';
  if (hasUntil === hasFor) return { ok: false, error: 'give either until (an ISO 8601 date) or for (a duration such as 2h)' };
  let until: number;
  if (hasUntil) {
    const u = text(record.until);
    until = u === undefined ? NaN : Date.parse(u);
    if (Number.isNaN(until)) return { ok: false, error: 'until must be an ISO 8601 date' };
  } else {
    const f = text(record.for);
    let ms = NaN;
    try {
      ms = f === undefined ? NaN : parseDuration(f);
    } catch {
      // reported below
    }
    if (!(ms > 0)) return { ok: false, error: 'for must be a duration such as 30m or 2h' };
    until = startsAt + ms;
  }
  if (until <= now) return { ok: false, error: 'until is in the past' };
  if (until <= startsAt) return { ok: false, error: 'until must come after startsAt' };
  if (until - startsAt > MAX_SILENCE_MS) return { ok: false, error: 'a silence lasts at most 366 days' };
  return { ok: true, value: { target, startsAt, until, comment, ...(match ? { match } : {}) } };
}

const MATCH_FIELDS = ['targets', 'to', 'status', 'channels'] as const;

/** A silence's `match`: the routes' matcher fields, plus channels; each a non-empty list of globs (status: down, up). */
function matchOf(value: unknown): MatchSpec | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'match must be an object with targets, to, status or channels';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return 'match must name at least one of targets, to, status, channels';
  const spec: { -readonly [K in keyof MatchSpec]: string[] } = {};
  for (const [key, list] of entries) {
    if (!(MATCH_FIELDS as readonly string[]).includes(key)) return `match: unknown field ${JSON.stringify(key.slice(0, 40))}; known: ${MATCH_FIELDS.join(', ')}`;
    if (!Array.isArray(list) || list.length === 0 || list.length > 32 || !list.every((g) => typeof g === 'string' && g.trim().length > 0 && g.length <= 256 && !/[\x00-\x1f\x7f]/.test(g))) {
      return `match.${key} must be a list of 1 to 32 globs of 1 to 256 printable characters`;
    }
    const globs = list.map((g: string) => g.trim());
    if (key === 'status' && !globs.every((g) => ALERT_STATUSES.includes(g as AlertStatus))) return 'match.status must list down or up';
    spec[key as keyof MatchSpec] = globs;
  }
  return spec as MatchSpec;
}

/** What a silence is asked about: an alert on one channel (undefined: on any), and the target it is about (the alert's, or its sender's: raw:<ip>). */
export interface MuteQuery {
  alert: Alert;
  target: string | undefined;
  channel: string | undefined;
}

export class Silences {
  readonly #rows = new Map<string, SilenceRow>();
  readonly #matchers = new Map<string, Matcher>();
  readonly #listeners: Array<() => void> = [];
  readonly #commit: (w: HubWrite) => Promise<void>;
  /** Silences being written: they count against MAX_SILENCES already. */
  #adding = 0;

  /** `commit` keeps a write and resolves once it is on disk (the store's hubCommit). */
  constructor(commit: (w: HubWrite) => Promise<void>, rows: readonly SilenceRow[] = []) {
    this.#commit = commit;
    for (const row of rows) this.#keep(row);
  }

  /** `listener` runs after each silence added or removed (not at an expiry: the clock alone ends a silence). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** The silence, in force once it is on disk; or why there is no room. Rejects when the store cannot write it. */
  async add(value: Omit<SilenceRow, 'id' | 'createdAt'>, now: number): Promise<SilenceRow | string> {
    this.#expire(now);
    if (this.#rows.size + this.#adding >= MAX_SILENCES) return `at most ${MAX_SILENCES} silences at once`;
    const row: SilenceRow = { id: randomUUID(), createdAt: now, ...value };
    this.#adding += 1;
    try {
      await this.#commit({ op: 'silence', row });
    } finally {
      this.#adding -= 1;
    }
    this.#keep(row);
    this.#changed();
    return row;
  }

  /** True once its removal is on disk; false for an unknown id. Rejects when the store cannot write it (the silence stays). */
  async remove(id: string): Promise<boolean> {
    if (!this.#rows.has(id)) return false;
    await this.#commit({ op: 'unsilence', id });
    this.#forget(id);
    this.#changed();
    return true;
  }

  /**
   * The silences as the store has them now, when another mailer on a shared store added or removed
   * one (Store.watchClaims): they replace this mailer's, and the listeners run when any differs.
   */
  sync(rows: readonly SilenceRow[], now: number): void {
    this.#expire(now);
    const fresh = rows.filter((r) => r.until > now);
    const same = fresh.length === this.#rows.size && fresh.every((r) => this.#rows.get(r.id)?.until === r.until);
    if (same) return;
    for (const id of [...this.#rows.keys()]) this.#forget(id);
    for (const row of fresh.slice(0, MAX_SILENCES)) this.#keep(row);
    this.#changed();
  }

  /** The silence in force now on every alert about this target (the page's "silenced"; a silence with matchers on targets only counts), if any. */
  matching(target: string, now: number): SilenceRow | undefined {
    for (const row of this.#rows.values()) {
      if (!inForce(row, now) || (row.target !== '' && !globMatch(row.target, target))) continue;
      const m = row.match;
      if (m && (m.to || m.status || m.channels || (m.targets && !m.targets.some((g) => globMatch(g, target))))) continue;
      if (row.target !== '' || m?.targets) return row;
    }
    return undefined;
  }

  /** The silence in force now on this alert for this channel (send time), if any. */
  muting(q: MuteQuery, now: number): SilenceRow | undefined {
    for (const row of this.#rows.values()) {
      if (!inForce(row, now)) continue;
      if (row.target !== '' && (q.target === undefined || !globMatch(row.target, q.target))) continue;
      const matcher = this.#matchers.get(row.id);
      if (!matcher || matcher(q.target === undefined || q.alert.target !== undefined ? q.alert : { ...q.alert, target: q.target }, q.channel)) return row;
    }
    return undefined;
  }

  /** Silences not yet ended, soonest end first. */
  list(now: number): SilenceRow[] {
    this.#expire(now);
    return [...this.#rows.values()].sort((a, b) => a.until - b.until);
  }

  #expire(now: number): void {
    for (const [id, row] of this.#rows) if (row.until <= now) this.#forget(id);
  }

  #keep(row: SilenceRow): void {
    this.#rows.set(row.id, row);
    if (row.match) this.#matchers.set(row.id, compileMatch(row.match));
  }

  #forget(id: string): void {
    this.#rows.delete(id);
    this.#matchers.delete(id);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

function inForce(row: SilenceRow, now: number): boolean {
  return row.startsAt <= now && now < row.until;
}
