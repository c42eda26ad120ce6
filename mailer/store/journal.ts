/**
 * An append-only journal file with group commit: records appended in the
 * same turn of the event loop are written together, records written while a
 * sync is under way share the next fdatasync, and every append's promise
 * resolves only after a sync that covers it. One record per line: an 8-digit hex CRC-32
 * of the JSON, a space, the JSON. A line torn by a crash, or damaged later,
 * fails its check when read back and is reported, not trusted.
 */
import { writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export function encodeLine(record: unknown): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

export type DecodedLine = { ok: true; record: unknown } | { ok: false; error: string };

export function decodeLine(line: string): DecodedLine {
  const match = /^([0-9a-f]{8}) (.*)$/.exec(line);
  if (!match) return { ok: false, error: 'not a journal record (torn or foreign line)' };
  const [, sum, json] = match as unknown as [string, string, string];
  if (crc32(json).toString(16).padStart(8, '0') !== sum) return { ok: false, error: 'checksum mismatch (torn or damaged record)' };
  try {
    return { ok: true, record: JSON.parse(json) };
  } catch (err) {
    return { ok: false, error: `bad JSON: ${(err as Error).message}` };
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class JournalWriter {
  readonly path: string;
  #handle: FileHandle;
  #size: number;
  #queue: string[] = [];
  #waiters: Waiter[] = [];
  /** Written, waiting for the next fdatasync. */
  #unsynced: Waiter[] = [];
  #flushScheduled = false;
  #syncing: Promise<void> | undefined;
  /** A compaction is swapping the file: hold writes until it is done. */
  #paused: Promise<void> | undefined;
  #closed = false;

  private constructor(path: string, handle: FileHandle, size: number) {
    this.path = path;
    this.#handle = handle;
    this.#size = size;
  }

  static async open(path: string): Promise<JournalWriter> {
    const handle = await open(path, 'a');
    const { size } = await handle.stat();
    return new JournalWriter(path, handle, size);
  }

  /** Bytes in the file, counting what is written but maybe not yet synced. */
  get size(): number {
    return this.#size;
  }

  /**
   * Queue a record; the promise resolves once it is on disk. An urgent record
   * (and all queued before it) is written at once rather than after this turn.
   */
  append(record: unknown, urgent = false): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('journal closed'));
    this.#queue.push(encodeLine(record));
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (urgent && !this.#paused) this.#flush();
    else this.#schedule();
    return done;
  }

  /**
   * Run `task` (a compaction: write a new file, rename it into place, reopen)
   * with no sync in flight; records appended meanwhile wait and go to the new file.
   */
  exclusive(task: () => Promise<void>): void {
    if (this.#paused) return;
    this.#flush();
    this.#paused = (async () => {
      while (this.#syncing) await this.#syncing;
      await task().catch(() => {});
    })().finally(() => {
      this.#paused = undefined;
      this.#schedule();
    });
  }

  /** Swap the file appended to (after a compaction renamed a new one into place). */
  async reopen(): Promise<void> {
    const handle = await open(this.path, 'a');
    await this.#handle.close().catch(() => {});
    this.#handle = handle;
    this.#size = (await handle.stat()).size;
  }

  /** Write and sync what is queued, then stop. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#paused) await this.#paused;
    this.#flush();
    while (this.#syncing) await this.#syncing;
    await this.#handle.close().catch(() => {});
  }

  /*
   * Records appended in one turn of the event loop (every request and every
   * settled send it handled) are written together right after it, with one
   * plain write(2): a record is in the page cache, and survives a killed
   * process, within that turn. Syncs run beside the writes, one at a time,
   * each covering every batch written before it started (group commit).
   */
  #schedule(): void {
    if (this.#flushScheduled || this.#paused) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (!this.#paused) this.#flush();
    });
  }

  #flush(): void {
    if (this.#queue.length === 0) return;
    const buffer = Buffer.from(this.#queue.join(''), 'utf8');
    const waiters = this.#waiters;
    this.#queue = [];
    this.#waiters = [];
    try {
      let written = 0;
      while (written < buffer.length) written += writeSync(this.#handle.fd, buffer, written, buffer.length - written);
      this.#size += buffer.length;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const w of waiters) w.reject(error);
      return;
    }
    this.#unsynced.push(...waiters);
    this.#requestSync();
  }

  #requestSync(): void {
    if (this.#syncing) return;
    this.#syncing = this.#syncLoop().finally(() => {
      this.#syncing = undefined;
      // Written after the loop's last check: their sync is still owed.
      if (this.#unsynced.length > 0) this.#requestSync();
    });
  }

  async #syncLoop(): Promise<void> {
    while (this.#unsynced.length > 0) {
      const waiters = this.#unsynced;
      this.#unsynced = [];
      try {
        await this.#handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const w of waiters) w.reject(error);
      }
    }
  }
}
