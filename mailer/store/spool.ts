/**
 * The durable outbox: the mailer's spool folder (--spool, a VOLUME in the
 * image). Every accepted alert is written to <spool>/journal.log and synced
 * before put() resolves, so HTTP 202 means "on disk" (group commit: alerts
 * arriving together share one fdatasync). Each channel's progress is
 * journalled too. On start the journal is read back: unfinished deliveries
 * resume, ids of finished ones are remembered (no duplicate after a
 * restart), and a damaged or torn record is moved to <spool>/quarantine/
 * with a log line while the others go on. The journal is then rewritten
 * compactly, and again whenever it grows past a bound. Alerts a channel gave
 * up on are kept in <spool>/dead/ (dead-letters.ts).
 *
 *   journal record                       meaning
 *   {"t":"put","item":…,"ch":[names]}    alert accepted, these channels owe it
 *   {"t":"set","id","ch","s","n","e"}    channel state, attempts, last error
 *   {"t":"seen","ids":[…]}               finished alerts (for duplicate checks)
 */
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/logger.ts';
import { DeadLetters } from './dead-letters.ts';
import { decodeLine, encodeLine, JournalWriter } from './journal.ts';
import { type DeadList, type DeliveryState, isFinished, newRecord, type OutboxRecord, RecordKeeper } from './outbox.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export interface SpoolOptions {
  dir: string;
  log: Logger;
  /** Finished alert ids remembered for duplicate checks. */
  maxRemembered?: number;
  /** Rewrite the journal once it passes this many bytes. */
  compactBytes?: number;
  now?: () => number;
}

export interface ReplaySummary {
  resumed: number;
  remembered: number;
  quarantined: number;
}

const JOURNAL = 'journal.log';
const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead'];
const MAX_QUARANTINE_LOG_LINES = 20;

type Damaged = { lineNo: number; line: string; error: string };

export class SpoolOutbox extends RecordKeeper {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #dead: DeadLetters;
  readonly #compactBytes: number;
  readonly #now: () => number;
  #journal!: JournalWriter;
  #compactPending = false;
  #writeErrors = 0;
  #background = new Set<Promise<unknown>>();

  private constructor(options: SpoolOptions) {
    super(options.maxRemembered ?? 100_000);
    this.#dir = options.dir;
    this.#log = options.log;
    this.#dead = new DeadLetters(join(options.dir, 'dead'));
    this.#compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
  }

  /** Open (or create) the spool in `dir`, read back what it holds, and compact it. */
  static async open(options: SpoolOptions): Promise<{ outbox: SpoolOutbox; summary: ReplaySummary }> {
    const spool = new SpoolOutbox(options);
    await mkdir(options.dir, { recursive: true });
    await spool.#dead.init();
    const summary = await spool.#replay();
    await spool.#writeSnapshot();
    spool.#journal = await JournalWriter.open(join(options.dir, JOURNAL));
    return { outbox: spool, summary };
  }

  async put(item: QueuedAlert, channels: readonly string[]): Promise<void> {
    // In memory first, so a second copy arriving during the sync is seen as a duplicate.
    this.records.set(item.alert.id, newRecord(item, channels));
    try {
      await this.#journal.append({ t: 'put', item, ch: channels });
    } catch (err) {
      this.records.delete(item.alert.id);
      throw err;
    }
    this.#maybeCompact();
  }

  dead(limit: number): Promise<DeadList> {
    return this.#dead.list(limit);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#background]);
    await this.#journal.close();
  }

  protected changed(id: string, channel: string, urgent: boolean): void {
    const c = this.records.get(id)?.channels[channel];
    if (!c) return;
    const record: Record<string, unknown> = { t: 'set', id, ch: channel, s: c.state, n: c.attempts };
    if (c.error !== undefined) record.e = c.error;
    this.#track(
      this.#journal.append(record, urgent).catch((err: Error) => {
        this.#writeErrors += 1;
        this.#log.error(`Spool: cannot record ${channel} state of alert ${id}: ${err.message}`, { event: 'spool-error', id });
      }),
    );
    this.#maybeCompact();
  }

  protected deadLettered(record: OutboxRecord): void {
    const id = record.item.alert.id;
    this.#track(
      this.#dead.write(structuredClone(record), this.#now()).catch((err: Error) => {
        this.#log.error(`Spool: cannot write the dead letter of alert ${id}: ${err.message}`, { event: 'spool-error', id });
      }),
    );
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  #maybeCompact(): void {
    if (this.#compactPending || this.#journal.size < this.#compactBytes) return;
    this.#compactPending = true;
    this.#journal.exclusive(async () => {
      try {
        await this.#writeSnapshot();
        await this.#journal.reopen();
      } catch (err) {
        this.#log.error(`Spool: compaction failed (journal keeps growing): ${(err as Error).message}`, { event: 'spool-error' });
      } finally {
        this.#compactPending = false;
      }
    });
  }

  /** Write the current state as a fresh journal and rename it into place. */
  async #writeSnapshot(): Promise<void> {
    const lines: string[] = [];
    for (const record of this.records.values()) {
      lines.push(encodeLine({ t: 'put', item: record.item, ch: Object.keys(record.channels) }));
      for (const [ch, c] of Object.entries(record.channels)) {
        if (c.state === 'pending' && c.attempts === 0) continue;
        lines.push(encodeLine({ t: 'set', id: record.item.alert.id, ch, s: c.state, n: c.attempts, ...(c.error !== undefined ? { e: c.error } : {}) }));
      }
    }
    let batch: string[] = [];
    for (const id of this.finished.values()) {
      batch.push(id);
      if (batch.length === 1000) {
        lines.push(encodeLine({ t: 'seen', ids: batch }));
        batch = [];
      }
    }
    if (batch.length > 0) lines.push(encodeLine({ t: 'seen', ids: batch }));
    const final = join(this.#dir, JOURNAL);
    const temp = `${final}.compact`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(lines.join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, final);
    const dir = await open(this.#dir, 'r');
    await dir.sync().finally(() => dir.close());
  }

  async #replay(): Promise<ReplaySummary> {
    const path = join(this.#dir, JOURNAL);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { resumed: 0, remembered: 0, quarantined: 0 };
      throw err;
    }
    const damaged: Damaged[] = [];
    const deadIds = new Map<string, OutboxRecord>();
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const decoded = decodeLine(line);
      const error = decoded.ok ? this.#apply(decoded.record, deadIds) : decoded.error;
      if (error) damaged.push({ lineNo: i + 1, line, error });
    }
    // A crash may have come between a dead letter's journal record and its file.
    for (const [id, record] of deadIds) {
      if (!this.records.has(id) && !(await this.#dead.exists(record.item.alert.id))) await this.#dead.write(record, this.#now());
    }
    if (damaged.length > 0) await this.#quarantine(damaged);
    return { resumed: this.records.size, remembered: this.finished.size, quarantined: damaged.length };
  }

  /** Apply one journal record; returns why it is unusable, if it is. */
  #apply(raw: unknown, deadIds: Map<string, OutboxRecord>): string | undefined {
    if (typeof raw !== 'object' || raw === null) return 'not an object';
    const r = raw as Record<string, unknown>;
    if (r.t === 'put') {
      const item = r.item as QueuedAlert | undefined;
      const channels = r.ch;
      if (
        typeof item !== 'object' ||
        item === null ||
        typeof item.alert?.id !== 'string' ||
        typeof item.alert.to !== 'string' ||
        typeof item.alert.message !== 'string' ||
        typeof item.line !== 'string' ||
        typeof item.receivedAt !== 'number' ||
        !Array.isArray(channels) ||
        !channels.every((c) => typeof c === 'string')
      ) {
        return 'put record without a valid alert';
      }
      if (this.has(item.alert.id)) return undefined; // written twice around a compaction
      this.records.set(item.alert.id, newRecord(item, channels as string[]));
      return undefined;
    }
    if (r.t === 'set') {
      if (typeof r.id !== 'string' || typeof r.ch !== 'string' || !STATES.includes(r.s as DeliveryState) || typeof r.n !== 'number') {
        return 'set record with bad fields';
      }
      const record = this.records.get(r.id);
      if (!record) return undefined; // finished already, or its put was damaged (quarantined on its own)
      const c = (record.channels[r.ch] ??= { state: 'pending', attempts: 0 });
      c.state = r.s as DeliveryState;
      c.attempts = Math.max(c.attempts, r.n);
      if (typeof r.e === 'string') c.error = r.e;
      if (c.state === 'dead') deadIds.set(r.id, record);
      if (isFinished(record)) {
        this.records.delete(r.id);
        this.finished.add(r.id);
      }
      return undefined;
    }
    if (r.t === 'seen') {
      if (!Array.isArray(r.ids) || !r.ids.every((id) => typeof id === 'string')) return 'seen record with bad ids';
      for (const id of r.ids as string[]) this.finished.add(id);
      return undefined;
    }
    return `unknown record type ${JSON.stringify(r.t)?.slice(0, 40)}`;
  }

  async #quarantine(damaged: Damaged[]): Promise<void> {
    const dir = join(this.#dir, 'quarantine');
    await mkdir(dir, { recursive: true });
    const name = `journal-${new Date(this.#now()).toISOString().replace(/[:.]/g, '-')}.txt`;
    const body = damaged.map((d) => `# line ${d.lineNo}: ${d.error}\n${d.line}\n`).join('');
    await writeFile(join(dir, name), body, { mode: 0o600 });
    for (const d of damaged.slice(0, MAX_QUARANTINE_LOG_LINES)) {
      this.#log.warn(`Spool: quarantined journal line ${d.lineNo} (${d.error}) to quarantine/${name}.`, { event: 'quarantine', line: d.lineNo });
    }
    if (damaged.length > MAX_QUARANTINE_LOG_LINES) {
      this.#log.warn(`Spool: ${damaged.length - MAX_QUARANTINE_LOG_LINES} more damaged journal lines quarantined to quarantine/${name}.`);
    }
  }

  /** Failed background writes since start (for /healthz). */
  get writeErrors(): number {
    return this.#writeErrors;
  }
}
