/**
 * The SQLite store's database work, in a worker thread (started by
 * sqlite-store.ts): it opens the store (sqlite-open.ts: the folder, the
 * exclusive hold, the integrity check), imports a previous-format store, and
 * then does each commit the store sends, with the fdatasync of the WAL after
 * it, so that neither the SQL nor the sync takes time from the event loop
 * that answers HTTP. One message at a time, in order: a commit's reply says
 * it is committed and on disk.
 *
 * Messages in (WorkerRequest) and out (WorkerReply, WorkerEvent) are plain
 * objects; an error travels as its message (and a StoreOpenError as its kind).
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { QueuedAlert } from '../queued-alert.ts';
import { hasLegacyJournal, readLegacyJournal, retireLegacyJournal } from './legacy-journal.ts';
import { type ChannelState, isFinished } from './outbox.ts';
import { openStoreDatabase, removeOwner } from './sqlite-open.ts';
import { SqliteQueries } from './sqlite-queries.ts';
import { SqliteHubQueries } from './sqlite-hub-queries.ts';
import { DAILY_KEEP_MS, DAY_MS, HOURLY_KEEP_MS, type HubWrite, type IncidentQuery } from '../hub/model.ts';
import { type ListQuery, StoreOpenError } from './store.ts';
import type { AlertChange, CommitBatch, CommitResult } from './store-backend.ts';

export interface WorkerSettings {
  dir: string;
  recover: boolean;
  windowMs: number;
  maxRemembered: number;
  /** The store's clock when it started the worker. */
  now: number;
}

/** A commit: one transaction for the batch, then the WAL synced. */
export type CommitRequest = { op: 'commit'; n: number } & CommitBatch;

export type WorkerRequest =
  | CommitRequest
  | { op: 'list'; n: number; query: ListQuery }
  | { op: 'hub-load'; n: number; now: number }
  | { op: 'incidents'; n: number; query: IncidentQuery }
  | { op: 'notify-log'; n: number }
  | { op: 'probe'; n: number }
  | { op: 'close'; n: number };

export type WorkerReply = { n: number; ok: true; value: unknown } | { n: number; ok: false; error: string };

export type WorkerEvent =
  | { op: 'opened'; pending: ReturnType<SqliteQueries['loadPending']>; remembered: number; imported: number; movedAside?: string }
  | { op: 'open-failed'; kind: StoreOpenError['kind'] | 'other'; error: string }
  | { op: 'log'; level: 'info' | 'error'; text: string; fields: Record<string, unknown> }
  | { op: 'fatal'; error: string };

const PRUNE_EVERY_MS = 1000;
/**
 * The WAL is copied into the database (a checkpoint) after every this many
 * commits, by the worker once it has answered the commit (sqlite-open.ts turns
 * SQLite's own checkpoint inside COMMIT off): a checkpoint inside a commit
 * made that commit's alerts, and every alert arriving meanwhile, wait 10-20 ms
 * more. 32 commits under load are about a megabyte of WAL, a few ms to copy.
 */
const CHECKPOINT_EVERY_COMMITS = 32;
const PRUNE_BATCH = 10_000;

const port = parentPort!;
const settings = workerData as WorkerSettings;
const post = (message: WorkerEvent | WorkerReply): void => port.postMessage(message);

let q: SqliteQueries;
let hq: SqliteHubQueries;
let wal: string;
try {
  const opened = openStoreDatabase(settings.dir, settings.recover);
  q = new SqliteQueries(opened.db);
  hq = new SqliteHubQueries(opened.db);
  wal = opened.wal;
  const imported = hasLegacyJournal(settings.dir) ? importLegacy(q, settings) : 0;
  if (imported > 0) q.checkpoint();
  const event: WorkerEvent = { op: 'opened', pending: q.loadPending(), remembered: q.countFinished(), imported };
  if (opened.movedAside) event.movedAside = opened.movedAside;
  post(event);
} catch (err) {
  post({ op: 'open-failed', kind: err instanceof StoreOpenError ? err.kind : 'other', error: (err as Error).message });
  process.exit(0);
}

let walFd: number | undefined;
/** fdatasyncs of the WAL done: the store reports them (/healthz), and a test counts them. */
let syncs = 0;
/** Rows in state sent, counted once at open and kept since by each commit and prune (for the cap, and GET /alerts?state=sent's total). */
let sentRows = q.countState('sent');
let lastPrune = -Infinity;
let lastHubPrune = -Infinity;
let commitsSinceCheckpoint = 0;
const HUB_PRUNE_EVERY_MS = 3_600_000;

port.on('message', (text: string) => {
  const request = JSON.parse(text) as WorkerRequest;
  try {
    post({ n: request.n, ok: true, value: handle(request) });
  } catch (err) {
    post({ n: request.n, ok: false, error: (err as Error).message });
  }
  // After the answer, so that the alerts of a commit wait for neither.
  if (request.op === 'commit') {
    prune(request.now);
    checkpoint();
  }
  if (request.op === 'close') port.close(); // the worker ends with it
});

function handle(request: WorkerRequest): unknown {
  switch (request.op) {
    case 'commit':
      return commit(request);
    case 'list':
      return q.list(request.query, sentRows);
    case 'hub-load':
      return hq.load(request.now, request.now - HOURLY_KEEP_MS, request.now - 91 * DAY_MS);
    case 'incidents':
      return hq.incidents(request.query);
    case 'notify-log':
      return hq.notifyLog();
    case 'probe':
      return q.probe();
    case 'close':
      q.close();
      if (walFd !== undefined) closeSync(walFd);
      removeOwner(settings.dir);
      return undefined;
  }
}

/** One transaction for the request, then the WAL synced: the seq of each insert (undefined for a known id), and the syncs so far. */
function commit(request: CommitRequest): CommitResult {
  const changes = new Map(request.changes);
  // Sent rows this commit adds (an alert delivered) and removes (a sent row re-used), counted only once it is committed.
  const sent = { delta: 0 };
  const seqs = q.transaction(() => {
    const shared = request.channels.length === 1 ? request.channels[0] : undefined;
    const out = request.items.map((item, i) => keep(item, shared ?? request.channels[i]!, changes, request.now, sent));
    for (const [seq, a] of changes) {
      // A row re-used above is gone: its change updates nothing and adds no sent row.
      if (q.updateAlert(seq, a.channels, a.state, a.deadAt, a.finishedAt) && a.state === 'sent') sent.delta += 1;
      if (a.incident !== undefined && a.id !== undefined) keepDeliveries(a.incident, a.id, seq, a.channels, request.now);
    }
    for (const w of request.hub) hubWrite(w);
    return out;
  });
  sentRows += sent.delta;
  try {
    walFd ??= openSync(wal, 'r');
    fdatasyncSync(walFd);
    syncs += 1;
    commitsSinceCheckpoint += 1;
  } catch (err) {
    // What is on disk is unknown now: the mailer stops and starts again from what SQLite has.
    post({ op: 'fatal', error: `cannot sync ${wal} (${(err as Error).message})` });
    throw err;
  }
  return { seqs, syncs };
}

function keepDeliveries(incident: string, alertId: string, seq: number, channels: Record<string, ChannelState>, at: number): void {
  for (const [channel, c] of Object.entries(channels)) hq.putDelivery({ incident, alertId, channel, state: c.state, attempts: c.attempts, error: c.error ?? null, at }, seq);
}

function hubWrite(w: HubWrite): void {
  switch (w.op) {
    case 'buckets':
      return hq.addBuckets(w.at, w.adds);
    case 'agent':
      return hq.putAgent(w.row);
    case 'target':
      return hq.putTarget(w.row);
    case 'incident':
      return hq.putIncident(w.row);
    case 'silence':
      return hq.putSilence(w.row);
    case 'unsilence':
      return hq.deleteSilence(w.id);
    case 'forget-agent':
      return hq.forgetAgent(w.name);
    case 'forget-target':
      return hq.forgetTarget(w.name);
  }
}

/**
 * Insert an alert: its seq, or undefined when its id is known (a duplicate). A
 * delivered alert remembered beyond the dedupe window is forgotten, and the new
 * one kept in its place.
 */
function keep(item: QueuedAlert, channels: readonly string[], changes: ReadonlyMap<number, AlertChange>, now: number, sent: { delta: number }): number | undefined {
  const seq = q.insertAlert(item, channels);
  if (seq !== undefined) return seq;
  const known = q.findId(item.alert.id);
  if (!known) return undefined;
  const state = changes.get(known.seq)?.state ?? known.state; // its latest change is in this commit
  if (state !== 'sent' || known.receivedAt >= now - settings.windowMs) return undefined;
  q.deleteSeq(known.seq);
  if (known.state === 'sent') sent.delta -= 1; // a row still pending on disk was not counted yet
  return q.insertAlert(item, channels);
}

/** Forget delivered alerts past the dedupe window, and the oldest beyond the cap. */
function prune(now: number): void {
  if (now - lastPrune < PRUNE_EVERY_MS) return;
  lastPrune = now;
  try {
    const removed = q.transaction(() => {
      let n = q.pruneSentBefore(now - settings.windowMs, PRUNE_BATCH);
      const over = sentRows - n - settings.maxRemembered;
      if (over > 0) n += q.pruneOldestSent(Math.min(over, PRUNE_BATCH));
      return n;
    });
    sentRows = Math.max(0, sentRows - removed);
  } catch {
    // Tried again a second later; a full disk shows in the commit.
  }
  if (now - lastHubPrune < HUB_PRUNE_EVERY_MS) return;
  lastHubPrune = now;
  try {
    q.transaction(() => hq.prune(now - HOURLY_KEEP_MS, now - DAILY_KEEP_MS, now));
  } catch {
    // Tried again an hour later.
  }
}

/** Copy the WAL into the database once enough commits are in it; SQLite starts the WAL over at the next write. */
function checkpoint(): void {
  if (commitsSinceCheckpoint < CHECKPOINT_EVERY_COMMITS) return;
  commitsSinceCheckpoint = 0;
  try {
    q.checkpoint();
  } catch {
    // Tried again after the next commits; until then the WAL grows (a full disk shows in the commit).
  }
}

function importLegacy(queries: SqliteQueries, s: WorkerSettings): number {
  const legacy = readLegacyJournal(s.dir, s.now);
  queries.transaction(() => {
    for (const record of legacy.unfinished) queries.importAlert(record, 'pending', null, null);
    for (const { record, deadAt } of legacy.dead) queries.importAlert(record, isFinished(record) ? 'dead' : 'pending', deadAt, isFinished(record) ? deadAt : null);
    for (const id of legacy.seen) queries.importSeenId(id, s.now);
  });
  retireLegacyJournal(s.dir);
  const count = legacy.unfinished.length + legacy.dead.length;
  post({
    op: 'log',
    level: 'info',
    text: `Store ${s.dir}: imported ${count} alert(s) and ${legacy.seen.length} delivered id(s) from journal.log${legacy.damaged > 0 ? ` (${legacy.damaged} damaged record(s) skipped)` : ''}.`,
    fields: { event: 'import', imported: count, seen: legacy.seen.length, damaged: legacy.damaged },
  });
  return count;
}
