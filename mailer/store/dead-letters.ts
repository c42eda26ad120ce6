/**
 * The dead-letter folder: an alert some channel gave up on is kept here as
 * one JSON file per alert (<spool>/dead/<id>.json), with each channel's state
 * and reason, until someone deals with it. Files are written atomically
 * (temp file, fsync, rename), so a crash leaves the old file or the new one.
 * GET /alerts?state=dead lists them, newest first.
 */
import { access, mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutboxRecord } from './outbox.ts';

export interface DeadLetter {
  id: string;
  deadAt: string;
  alert: OutboxRecord['item']['alert'];
  line: string;
  via: OutboxRecord['item']['via'];
  receivedAt: string;
  channels: OutboxRecord['channels'];
}

/** Alert ids are validated on intake; this keeps any other name out of the path. */
function fileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}.json`;
}

export class DeadLetters {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Writes of one alert's dead letter, one after another, so the newest state lands last. */
  readonly #chains = new Map<string, Promise<void>>();

  write(record: OutboxRecord, now = Date.now()): Promise<void> {
    const id = record.item.alert.id;
    const next = (this.#chains.get(id) ?? Promise.resolve()).catch(() => {}).then(() => this.#write(record, now));
    this.#chains.set(id, next);
    void next.finally(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    }).catch(() => {});
    return next;
  }

  async #write(record: OutboxRecord, now: number): Promise<void> {
    const letter: DeadLetter = {
      id: record.item.alert.id,
      deadAt: new Date(now).toISOString(),
      alert: record.item.alert,
      line: record.item.line,
      via: record.item.via,
      receivedAt: new Date(record.item.receivedAt).toISOString(),
      channels: record.channels,
    };
    const final = join(this.dir, fileName(letter.id));
    const temp = `${final}.tmp-${process.pid}`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(letter, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, final);
    const dir = await open(this.dir, 'r');
    await dir.sync().finally(() => dir.close());
  }

  exists(id: string): Promise<boolean> {
    return access(join(this.dir, fileName(id))).then(
      () => true,
      () => false,
    );
  }

  async count(): Promise<number> {
    return (await readdir(this.dir)).filter((n) => n.endsWith('.json')).length;
  }

  /** The newest `limit` dead letters. Unreadable files are skipped and named in `unreadable`. */
  async list(limit: number): Promise<{ total: number; letters: DeadLetter[]; unreadable: string[] }> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    const dated = await Promise.all(
      names.map(async (name) => ({ name, mtime: await stat(join(this.dir, name)).then((s) => s.mtimeMs, () => 0) })),
    );
    dated.sort((a, b) => b.mtime - a.mtime);
    const letters: DeadLetter[] = [];
    const unreadable: string[] = [];
    for (const { name } of dated.slice(0, limit)) {
      try {
        letters.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as DeadLetter);
      } catch {
        unreadable.push(name);
      }
    }
    return { total: names.length, letters, unreadable };
  }
}
