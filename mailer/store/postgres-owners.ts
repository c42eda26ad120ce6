/**
 * Several mailers on one Postgres database: who the live mailers are, and the
 * hand-over of a delivery to the mailer that owns its destination (the choice
 * itself is delivery/destination-owner.ts: rendezvous hashing over these
 * members, so every mailer computes the same owner alone).
 *
 * Members: the distinct application_name of the sessions on this database
 * named like a mailer (postgres-session.ts instanceName), read every
 * MEMBERS_EVERY_MS on the claims' session. A session lives exactly as long
 * as its mailer's connection, so no table, heartbeat or migration is needed:
 * a mailer that dies leaves within the server's notice of the lost
 * connection (at once for a killed process; a partition waits for TCP
 * keepalive), one that starts is seen at the next read.
 *
 * Hand-over: one UPDATE (for the hand-overs asked for within one turn of the
 * event loop), fenced on each row being this mailer's and owed (rows locked
 * in (alert_seq, channel) order, as every statement on deliveries locks
 * them), sets claimed_by to `<owner>\t<me>` with a fresh lease, then NOTIFY
 * ch2_work: the owner's listener scans at once, and its scan
 * (postgres-claim-queries.ts claimLapsed) takes rows handed to it as it
 * takes lapsed ones; a NOTIFY missed is made good by its next scan (1 s),
 * and an owner that died meanwhile loses the row when the lease lapses, to
 * whichever mailer scans first. The row leaves this mailer's working set
 * before the UPDATE is queued on the claims' session (where the heartbeat
 * runs too, in order): the heartbeat never sees it as lost.
 */
import type { PendingRow } from './store-backend.ts';
import { LEASE_MS } from './postgres-claims.ts';
import { leaseFrom, OWED, WORK_CHANNEL } from './postgres-claim-queries.ts';
import type { PostgresSession } from './postgres-session.ts';
import { type ChannelState, isOwed } from './outbox.ts';
import type { MailerMembers } from './store.ts';
export type { MailerMembers };

const MEMBERS_EVERY_MS = 1000;

export class PostgresOwners implements MailerMembers {
  readonly me: string;
  readonly #session: PostgresSession;
  readonly #working: Map<string, PendingRow>;
  #members: string[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  #handed = 0;
  readonly #queue: Array<{ id: string; entry: PendingRow; channel: string; state: ChannelState; to: string; resolve: (gone: boolean) => void }> = [];

  constructor(options: { session: PostgresSession; me: string; working: Map<string, PendingRow> }) {
    this.me = options.me;
    this.#session = options.session;
    this.#working = options.working;
  }

  start(): void {
    void this.#read();
    this.#timer = setInterval(() => void this.#read(), MEMBERS_EVERY_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  members(): readonly string[] | undefined {
    return this.#members;
  }

  counts(): { members: number; handed: number } {
    return { members: this.#members?.length ?? 0, handed: this.#handed };
  }

  handOver(id: string, channel: string, to: string): Promise<boolean> {
    const entry = this.#working.get(id);
    const state = entry?.record.channels[channel];
    if (!entry || !state) return Promise.resolve(true); // no longer this mailer's (lost, or finished meanwhile)
    delete entry.record.channels[channel];
    if (!Object.values(entry.record.channels).some((s) => isOwed(s.state))) this.#working.delete(id);
    return new Promise((resolve) => {
      this.#queue.push({ id, entry, channel, state, to, resolve });
      if (this.#queue.length === 1) setImmediate(() => void this.#flush());
    });
  }

  /** The hand-overs asked for meanwhile, as one statement (a storm's hundreds never hold up the heartbeat behind them). */
  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0);
    try {
      const moved = await this.#session.run(async (c) => {
        const r = await c.query(
          `WITH u AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, channel, owner)),
           mine AS MATERIALIZED (SELECT d.alert_seq, d.channel FROM deliveries d JOIN u ON d.alert_seq = u.seq AND d.channel = u.channel
             WHERE d.claimed_by = $1 AND ${OWED} ORDER BY d.alert_seq, d.channel FOR UPDATE OF d)
           UPDATE deliveries d SET claimed_by = u.owner || E'\\t' || $1, lease_until = ${leaseFrom(5)}
           FROM u JOIN mine ON mine.alert_seq = u.seq AND mine.channel = u.channel WHERE d.alert_seq = u.seq AND d.channel = u.channel`,
          [this.me, batch.map((h) => h.entry.seq), batch.map((h) => h.channel), batch.map((h) => h.to), LEASE_MS],
        );
        if ((r.rowCount ?? 0) > 0) await c.query('SELECT pg_notify($1, $2)', [WORK_CHANNEL, this.me]);
        return r.rowCount ?? 0;
      });
      this.#handed += moved;
      for (const h of batch) h.resolve(true);
    } catch {
      // Not answered: delivered here after all (the rows are still this mailer's unless the UPDATE committed unseen: then the owner's fence stops this one's writes).
      for (const h of batch) {
        h.entry.record.channels[h.channel] = h.state;
        if (!this.#working.has(h.id)) this.#working.set(h.id, h.entry);
        h.resolve(false);
      }
    }
  }

  async #read(): Promise<void> {
    try {
      const r = await this.#session.run((c) =>
        c.query<{ name: string }>("SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'ch2-mailer %' ORDER BY 1"),
      );
      const names = r.rows.map((row) => row.name);
      // This mailer is a member whatever the view says (its sessions may be reconnecting).
      if (!names.includes(this.me)) names.push(this.me);
      this.#members = names.sort();
    } catch {
      // The database is away: the last view stands (hand-overs fail and are delivered here meanwhile).
    }
  }
}
