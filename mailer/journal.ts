/**
 * An append-only journal file with group commit: records appended in the
 * same turn of the event loop (and while a write is under way) are written
 * together and made durable by one fdatasync, and every append's promise
 * resolves only after that sync. One record per line: an 8-digit hex CRC-32
 * of the JSON, a space, the JSON. A line torn by a crash, or damaged later,
 * fails its check when read back and is reported, not trusted.
 */
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
  #writing: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #closed = false;
  /** Runs between two batches, with nothing in flight (used to compact). */
  #beforeBatch: (() => Promise<void>) | undefined;

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

  /** Queue a record; the promise resolves once it is on disk. */
  append(record: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('journal closed'));
    this.#queue.push(encodeLine(record));
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#kick();
    return done;
  }

  /** Run `task` before the next batch is written, with no write or sync in flight. */
  beforeNextBatch(task: () => Promise<void>): void {
    this.#beforeBatch = task;
    this.#kick();
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
    while (this.#writing || this.#syncing) await (this.#writing ?? this.#syncing);
    await this.#handle.close().catch(() => {});
  }

  /*
   * Writes and syncs overlap: each batch is written as soon as the previous
   * write returns (so a record reaches the page cache, and survives a killed
   * process, within a turn of the event loop), while one fdatasync at a time
   * covers every batch written before it started.
   */
  #kick(): void {
    if (this.#writing) return;
    this.#writing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#writeLoop())
      .finally(() => {
        this.#writing = undefined;
      });
  }

  async #writeLoop(): Promise<void> {
    while (this.#queue.length > 0 || this.#beforeBatch) {
      const task = this.#beforeBatch;
      if (task) {
        this.#beforeBatch = undefined;
        while (this.#syncing) await this.#syncing;
        await task().catch(() => {});
      }
      if (this.#queue.length === 0) continue;
      const lines = this.#queue;
      const waiters = this.#waiters;
      this.#queue = [];
      this.#waiters = [];
      const buffer = Buffer.from(lines.join(''), 'utf8');
      try {
        let written = 0;
        while (written < buffer.length) {
          const { bytesWritten } = await this.#handle.write(buffer, written, buffer.length - written);
          written += bytesWritten;
        }
        this.#size += buffer.length;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        for (const w of waiters) w.reject(error);
        continue;
      }
      this.#unsynced.push(...waiters);
      this.#requestSync();
    }
  }

  #requestSync(): void {
    if (this.#syncing) return;
    this.#syncing = this.#syncLoop().finally(() => {
      this.#syncing = undefined;
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
