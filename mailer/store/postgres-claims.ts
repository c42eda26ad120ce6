/**
 * Several mailers on one Postgres database, all active: the claims each holds
 * on the deliveries it owes (postgres-claim-queries.ts), kept alive, taken
 * over, fenced and released. Each mailer works only on the rows it claims:
 * those of the alerts it admitted (claimed at insert) and those it took over.
 *
 * - Heartbeat (every HEARTBEAT_EVERY_MS, on the store's second session so it
 *   never waits behind a commit): one UPDATE renews the lease of every row of
 *   the working set that is still this mailer's; rows owed but claimed by
 *   another mailer now (this one's lease lapsed: a long pause, a partition)
 *   are lost: dropped from the working set, the dispatcher told to stop them
 *   (handlers.lost), and this mailer's other rows of those alerts released.
 * - Lease lapsed here: when no heartbeat has been answered for STALE_AFTER_MS
 *   (less than the lease, counted from when the last good one was sent, so
 *   before the server can think the lease over), another mailer may take the
 *   rows at any moment. The store then drops its whole working set (the
 *   dispatcher stops it) rather than send behind another mailer's back, and
 *   goes on: once the database answers, the scans take up again whatever is
 *   still owed (its own rows too). It does not stop the mailer (fatal): a
 *   Postgres restart would then restart every mailer at once.
 * - Takeover (every SCAN_EVERY_MS, at once when a mailer NOTIFYs that it let
 *   work go: the store's listener, postgres-listen.ts, calls scan(); and once at open): owed rows whose lease lapsed are claimed in
 *   batches, their alerts loaded into the working set with only the channels
 *   claimed, and handed on (handlers.adopted: the dispatcher resumes them);
 *   so are rows another mailer handed to this one, the owner of their
 *   destination (postgres-owners.ts: it NOTIFYs ch2_work too).
 * - Fencing: every progress write is conditional on the row being this
 *   mailer's (postgres-queries.ts applyChanges), whatever the working set says.
 * - Release (close): the rows still owed (and those handed to this mailer
 *   that it has not taken yet) get a lapsed lease and every mailer
 *   is told (NOTIFY): a stopped mailer's work is taken over at once.
 *
 * LEASE_MS 3 s, scans every second: a killed mailer's work is taken over 2 to
 * 4 s after its last heartbeat.
 */
import type { Logger } from '../../shared/logger.ts';
import { isOwed, type OutboxRecord } from './outbox.ts';
import { claimLapsed, type ClaimScope, release, renew } from './postgres-claim-queries.ts';
import { instancePrefix, type PostgresSession } from './postgres-session.ts';
import type { PendingRow } from './store-backend.ts';

export const LEASE_MS = 3000;
const HEARTBEAT_EVERY_MS = 1000;
const STALE_AFTER_MS = LEASE_MS - 500;
const STALE_CHECK_MS = 100;
const SCAN_EVERY_MS = 1000;
const BATCH = 500;

/**
 * What the mailer does with work that comes and goes (main.ts: the dispatcher
 * resumes, or forgets). `only`: for an alert already in the working set, the
 * channels just added to its record (the rest it was delivering already).
 */
export interface ClaimHandlers {
  adopted(records: OutboxRecord[], only: ReadonlyMap<string, readonly string[]>): void;
  lost(ids: string[]): void;
}

export interface ClaimCounts {
  /** Alerts whose deliveries this mailer claims now (its working set). */
  held: number;
  /** Alerts taken over from another mailer (or from nobody) since start. */
  adopted: number;
  /** Alerts dropped since start: taken over by another mailer, or let go when the lease could not be renewed. */
  lost: number;
}

/** Every claimable row now, in batches, by alert (at open: the rows of a dead predecessor of this host and pid too). */
export async function claimAll(session: PostgresSession, me: string, first = false, stopped = (): boolean => false): Promise<{ rows: PendingRow[]; from: string[] }> {
  const rows = new Map<number, PendingRow>();
  const from = new Set<string>();
  const scope: ClaimScope = { me, leaseMs: LEASE_MS, ...(first ? { samePrefix: instancePrefix(me) } : {}) };
  for (;;) {
    const got = await session.transaction((c) => claimLapsed(c, scope, BATCH));
    for (const row of got.rows) {
      const known = rows.get(row.seq);
      // A batch that ended amid an alert's rows: the next one has the rest.
      if (known) Object.assign(known.record.channels, row.record.channels);
      else rows.set(row.seq, row);
    }
    for (const f of got.from) from.add(f);
    // Closed meanwhile: no batch after the release (what this one claimed, the release let go of).
    if (got.count < BATCH || stopped()) return { rows: [...rows.values()], from: [...from] };
  }
}

export class Claims {
  readonly #session: PostgresSession;
  readonly #me: string;
  readonly #label: string;
  readonly #log: Logger;
  readonly #working: Map<string, PendingRow>;
  #handlers: ClaimHandlers | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** When the last heartbeat that was answered was sent (performance.now()). */
  #renewedAt = performance.now();
  #beating = false;
  #scanning = false;
  #rescan = false;
  #stale = false;
  #closed = false;
  #adopted = 0;
  #lost = 0;

  constructor(options: { session: PostgresSession; me: string; label: string; log: Logger; working: Map<string, PendingRow> }) {
    this.#session = options.session;
    this.#me = options.me;
    this.#label = options.label;
    this.#log = options.log;
    this.#working = options.working;
  }

  /** The heartbeat and its watch (from open: the rows claimed at insert need it before anything is resumed). */
  start(): void {
    this.#timers.push(setInterval(() => void this.#beat(), HEARTBEAT_EVERY_MS), setInterval(() => this.#checkStale(), STALE_CHECK_MS));
    for (const t of this.#timers) t.unref();
  }

  /** Take over lapsed work from now on, telling `handlers` (once the mailer has resumed what the store held at open). */
  watch(handlers: ClaimHandlers): void {
    if (this.#closed || this.#handlers) return;
    this.#handlers = handlers;
    const scan = setInterval(() => void this.scan(), SCAN_EVERY_MS);
    scan.unref();
    this.#timers.push(scan);
    void this.scan();
  }

  counts(): ClaimCounts {
    return { held: this.#working.size, adopted: this.#adopted, lost: this.#lost };
  }

  /** Claim what has lapsed and hand it on; a scan asked for while one runs runs again after it. */
  async scan(): Promise<void> {
    if (this.#closed || !this.#handlers) return;
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = true;
    try {
      do {
        this.#rescan = false;
        const got = await claimAll(this.#session, this.#me, false, () => this.#closed);
        if (this.#closed) return;
        const records: OutboxRecord[] = [];
        const only = new Map<string, string[]>();
        for (const row of got.rows) {
          const id = row.record.item.alert.id;
          const known = this.#working.get(id);
          if (!known) {
            this.#working.set(id, row);
            records.push(row.record);
            continue;
          }
          // Rows of an alert this mailer holds other channels of (they had been split): added to its record.
          const missing = Object.keys(row.record.channels).filter((ch) => known.seq === row.seq && !(ch in known.record.channels));
          for (const ch of missing) known.record.channels[ch] = row.record.channels[ch]!;
          const added = missing.filter((ch) => isOwed(row.record.channels[ch]!.state));
          if (added.length === 0) continue;
          only.set(id, added);
          records.push(known.record);
        }
        if (records.length === 0) continue;
        this.#adopted += records.length - only.size;
        const from = got.from.length > 0 ? ` from ${got.from.join(', ')}` : '';
        this.#log.info(`Store ${this.#label}: took over ${records.length} unfinished alert(s)${from} (claim lapsed or released).`, { event: 'store-adopted', count: records.length, from: got.from });
        this.#handlers.adopted(records, only);
      } while (this.#rescan && !this.#closed);
    } catch {
      // The database is away: the next scan tries again (the heartbeat's watch drops what lapses meanwhile).
    } finally {
      this.#scanning = false;
    }
  }

  /** Stop; let go of what is still owed and tell the others (a clean stop), or not (`abandon`: what a crash leaves, for tests). */
  async close(abandon = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    if (!abandon) await this.#session.run((c) => release(c, this.#me)).catch(() => undefined);
    await this.#session.close();
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    const sentAt = performance.now();
    const seqs: number[] = [];
    const channels: string[] = [];
    const ids = new Map<number, string>();
    for (const [id, entry] of this.#working) {
      ids.set(entry.seq, id);
      for (const channel of Object.keys(entry.record.channels)) {
        seqs.push(entry.seq);
        channels.push(channel);
      }
    }
    try {
      const lost = seqs.length === 0 ? [] : await this.#session.run((c) => renew(c, this.#me, LEASE_MS, seqs, channels));
      this.#renewedAt = sentAt;
      if (this.#stale && !this.#closed) {
        this.#stale = false;
        this.#log.info(`Store ${this.#label}: claims renewed again; lapsed work is taken up by the scans.`, { event: 'store-claims-ok' });
      }
      const gone = lost.flatMap((seq) => {
        const id = ids.get(seq);
        return id !== undefined && this.#working.get(id)?.seq === seq ? [id] : [];
      });
      if (gone.length === 0) return;
      this.#log.warn(`Store ${this.#label}: ${gone.length} alert(s) taken over by another mailer while this one's claim had lapsed; no longer delivered here.`, { event: 'store-claims-lost', count: gone.length });
      this.#drop(gone);
      await this.#session.run((c) => release(c, this.#me, lost)).catch(() => undefined);
    } catch {
      // Not answered: the watch (#checkStale) decides when that has lasted too long.
    } finally {
      this.#beating = false;
    }
  }

  /** No heartbeat answered for STALE_AFTER_MS: the leases may lapse any moment; stop delivering what they covered. */
  #checkStale(): void {
    if (this.#closed || performance.now() - this.#renewedAt < STALE_AFTER_MS) return;
    if (this.#working.size === 0) return;
    const ids = [...this.#working.keys()];
    if (!this.#stale) {
      this.#stale = true;
      this.#log.error(`Store ${this.#label}: cannot renew this mailer's claims (no answer for ${STALE_AFTER_MS} ms, the lease is ${LEASE_MS} ms); ${ids.length} alert(s) dropped from its work, for whichever mailer claims them once the database answers.`, { event: 'store-claims-lapsed', count: ids.length });
    }
    this.#drop(ids);
  }

  #drop(ids: string[]): void {
    for (const id of ids) this.#working.delete(id);
    this.#lost += ids.length;
    this.#handlers?.lost(ids);
  }
}
