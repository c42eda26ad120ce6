/**
 * Silences (maintenance windows): a glob on the target name (route-match.ts's
 * globMatch: `*` any run of characters), from a start until an end, with a
 * comment. An alert whose target (or `agent:<name>`, for the hub's own
 * agent-silence alarms; `raw:<address>` for the book's raw alerts) matches a
 * silence in force is kept and recorded on its incident as silenced, and sent
 * to no channel. Expired silences stop matching by themselves (their end is
 * compared with the clock) and the store forgets them. A silence is added,
 * or removed, once the store has it on disk (hubCommit): the HTTP answer
 * waits for that, and a silence the store could not write never takes effect.
 *
 * parseSilence reads POST /api/v1/silences (JSON) and the page's form:
 * {target, until (ISO 8601) | for (a duration: 30m, 2h), comment, startsAt?}.
 */
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../../shared/duration.ts';
import { globMatch } from '../delivery/route-match.ts';
import type { HubWrite, SilenceRow } from './model.ts';

export const MAX_SILENCES = 1000;
const MAX_SILENCE_MS = 366 * 86_400_000;

export type SilenceParse = { ok: true; value: Omit<SilenceRow, 'id' | 'createdAt'> } | { ok: false; error: string };

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseSilence(data: unknown, now: number): SilenceParse {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, error: 'a silence must be an object' };
  const record = data as Record<string, unknown>;
  const unknown = Object.keys(record).find((k) => !['target', 'until', 'for', 'comment', 'startsAt'].includes(k));
  if (unknown !== undefined) return { ok: false, error: `unknown field ${JSON.stringify(unknown.slice(0, 40))}` };
  const target = text(record.target)?.trim() ?? '';
  if (target.length === 0 || target.length > 256 || /[\x00-\x1f\x7f]/.test(target)) return { ok: false, error: 'target must be a glob of 1 to 256 printable characters (e.g. web-*)' };
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
  return { ok: true, value: { target, startsAt, until, comment } };
}

export class Silences {
  readonly #rows = new Map<string, SilenceRow>();
  readonly #commit: (w: HubWrite) => Promise<void>;
  /** Silences being written: they count against MAX_SILENCES already. */
  #adding = 0;

  /** `commit` keeps a write and resolves once it is on disk (the store's hubCommit). */
  constructor(commit: (w: HubWrite) => Promise<void>, rows: readonly SilenceRow[] = []) {
    this.#commit = commit;
    for (const row of rows) this.#rows.set(row.id, row);
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
    this.#rows.set(row.id, row);
    return row;
  }

  /** True once its removal is on disk; false for an unknown id. Rejects when the store cannot write it (the silence stays). */
  async remove(id: string): Promise<boolean> {
    if (!this.#rows.has(id)) return false;
    await this.#commit({ op: 'unsilence', id });
    this.#rows.delete(id);
    return true;
  }

  /** The silence in force on this target now, if any. */
  matching(target: string, now: number): SilenceRow | undefined {
    for (const row of this.#rows.values()) {
      if (row.startsAt <= now && now < row.until && globMatch(row.target, target)) return row;
    }
    return undefined;
  }

  /** Silences not yet ended, soonest end first. */
  list(now: number): SilenceRow[] {
    this.#expire(now);
    return [...this.#rows.values()].sort((a, b) => a.until - b.until);
  }

  #expire(now: number): void {
    for (const [id, row] of this.#rows) if (row.until <= now) this.#rows.delete(id);
  }
}
