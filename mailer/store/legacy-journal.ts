/**
 * The store of earlier versions (<store>/journal.log and <store>/dead/),
 * read once so an upgrade loses nothing: the store imports what this
 * returns, then retire() renames the old files so they are not read again.
 * journal.log held one record per line, an 8-digit hex CRC-32 of the JSON,
 * a space, the JSON:
 *   {"t":"put","item":…,"ch":[names]}    alert accepted, these channels owe it
 *   {"t":"set","id","ch","s","n","e"}    channel state, attempts, last error
 *   {"t":"seen","ids":[…]}               finished alerts (for duplicate checks)
 * A line that fails its check (torn or damaged) is skipped and counted.
 * dead/<id>.json held one dead letter each.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { QueuedAlert } from '../queued-alert.ts';
import { type DeliveryState, isFinished, newRecord, type OutboxRecord } from './outbox.ts';

const JOURNAL = 'journal.log';
const DEAD = 'dead';
const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead'];

export interface LegacyJournal {
  /** Alerts some channel still owed, oldest first. */
  unfinished: OutboxRecord[];
  /** Finished alerts with full records (those that died, from the journal or dead/). */
  dead: Array<{ record: OutboxRecord; deadAt: number }>;
  /** Ids of alerts that were delivered (only the id was kept). */
  seen: string[];
  /** Journal lines or dead letters that could not be read. */
  damaged: number;
}

export function hasLegacyJournal(dir: string): boolean {
  return existsSync(join(dir, JOURNAL)) || existsSync(join(dir, DEAD));
}

function decodeLine(line: string): unknown {
  const match = /^([0-9a-f]{8}) (.*)$/.exec(line);
  if (!match) return undefined;
  const [, sum, json] = match as unknown as [string, string, string];
  if (crc32(json).toString(16).padStart(8, '0') !== sum) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function validItem(item: unknown): item is QueuedAlert {
  const i = item as QueuedAlert | null;
  return (
    typeof i === 'object' && i !== null && typeof i.alert?.id === 'string' && typeof i.alert.to === 'string' &&
    typeof i.alert.message === 'string' && typeof i.line === 'string' && typeof i.receivedAt === 'number'
  );
}

export function readLegacyJournal(dir: string, now: number): LegacyJournal {
  const records = new Map<string, OutboxRecord>();
  const finished = new Map<string, OutboxRecord | undefined>();
  let damaged = 0;
  const journal = join(dir, JOURNAL);
  const text = existsSync(journal) ? readFileSync(journal, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = decodeLine(line) as Record<string, unknown> | undefined;
    if (typeof r !== 'object' || r === null) {
      damaged += 1;
      continue;
    }
    if (r.t === 'put' && validItem(r.item) && Array.isArray(r.ch) && r.ch.every((c) => typeof c === 'string')) {
      const id = r.item.alert.id;
      if (!records.has(id) && !finished.has(id)) records.set(id, newRecord(r.item, r.ch as string[]));
    } else if (r.t === 'set' && typeof r.id === 'string' && typeof r.ch === 'string' && STATES.includes(r.s as DeliveryState) && typeof r.n === 'number') {
      const record = records.get(r.id);
      if (!record) continue;
      const c = (record.channels[r.ch] ??= { state: 'pending', attempts: 0 });
      c.state = r.s as DeliveryState;
      c.attempts = Math.max(c.attempts, r.n);
      if (typeof r.e === 'string') c.error = r.e;
      if (isFinished(record)) {
        records.delete(r.id);
        finished.set(r.id, Object.values(record.channels).some((x) => x.state === 'dead') ? record : undefined);
      }
    } else if (r.t === 'seen' && Array.isArray(r.ids) && r.ids.every((id) => typeof id === 'string')) {
      for (const id of r.ids as string[]) if (!finished.has(id)) finished.set(id, undefined);
    } else {
      damaged += 1;
    }
  }
  const dead = new Map<string, { record: OutboxRecord; deadAt: number }>();
  for (const [id, record] of finished) if (record) dead.set(id, { record, deadAt: now });
  const deadDir = join(dir, DEAD);
  for (const name of existsSync(deadDir) ? readdirSync(deadDir).filter((n) => n.endsWith('.json')) : []) {
    try {
      const letter = JSON.parse(readFileSync(join(deadDir, name), 'utf8')) as Record<string, unknown>;
      const item = { alert: letter.alert, line: letter.line, via: letter.via === 'raw' ? 'raw' : 'json', receivedAt: Date.parse(String(letter.receivedAt)) };
      if (!validItem(item) || typeof letter.channels !== 'object' || letter.channels === null) throw new Error('not a dead letter');
      const deadAt = Date.parse(String(letter.deadAt));
      dead.set(item.alert.id, { record: { item, channels: letter.channels as OutboxRecord['channels'] }, deadAt: Number.isFinite(deadAt) ? deadAt : now });
      finished.delete(item.alert.id);
      records.delete(item.alert.id);
    } catch {
      damaged += 1;
    }
  }
  const seen = [...finished.keys()].filter((id) => !dead.has(id));
  return { unfinished: [...records.values()], dead: [...dead.values()], seen, damaged };
}

/** Rename the old files once their content is committed to the database. */
export function retireLegacyJournal(dir: string): void {
  for (const name of [JOURNAL, DEAD]) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const target = existsSync(`${path}.imported`) ? `${path}.imported-${Date.now()}` : `${path}.imported`;
    renameSync(path, target);
  }
}
