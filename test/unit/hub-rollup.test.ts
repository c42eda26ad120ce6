/**
 * The hub's time buckets (mailer/hub/rollup.ts) on injected times: an outage
 * across midnight counts into both days, a gap in reports is no data (uptime
 * null, not 0), two agents on one target sum their checks (uptime weighted by
 * checks), a slot from 168 hours / 90 days ago reads as empty, and one from an
 * earlier lap never evicts a newer bucket; quantileMs on exact bucket bounds
 * and the open bucket. Two fast-check properties: the uptime over any window
 * is 1 - Σfailures/Σchecks of the reports in it, computed naively, and the
 * buckets the store gives back (hub tables in an in-memory node:sqlite,
 * sqlite-hub-queries.ts) load into the same roll-up as add() built.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import fc from 'fast-check';
import { quantileMs, TargetRollup } from '../../mailer/hub/rollup.ts';
import { UPTIME_WINDOWS, type UptimeWindow } from '../../mailer/hub/status-view.ts';
import { TargetBoard } from '../../mailer/hub/target-board.ts';
import { type BucketRow, DAY_MS, HOUR_MS, PACKED_WIDTH } from '../../mailer/hub/model.ts';
import { packBuckets } from '../support/packed-buckets.ts';
import { HUB_SCHEMA, SqliteHubQueries } from '../../mailer/store/sqlite-hub-queries.ts';
import { LATENCY_BUCKETS_MS, type TargetReport } from '../../shared/wire-report.ts';

const LAT = LATENCY_BUCKETS_MS.length + 1;
/** 2026-01-10T00:00:00Z: a midnight. */
const MIDNIGHT = Date.UTC(2026, 0, 10);
const MIN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** A latency histogram with `n` checks in bucket `k`. */
function lat(k: number, n: number): number[] {
  const h = new Array<number>(LAT).fill(0);
  h[k] = n;
  return h;
}

test('an outage across midnight: failures before and after 00:00 UTC land in both days; daily bars, hourly bars and 24h uptime are exact', () => {
  const r = new TargetRollup();
  r.add(MIDNIGHT - 2 * HOUR_MS, 30, 0, undefined); // Jan 9, 22:00, all good
  r.add(MIDNIGHT - 10 * MIN, 10, 10, undefined); // Jan 9, 23:50, the outage starts
  r.add(MIDNIGHT + 5 * MIN, 10, 10, undefined); // Jan 10, 00:05, still down
  r.add(MIDNIGHT + 15 * MIN, 10, 0, undefined); // Jan 10, 00:15, up again
  const now = MIDNIGHT + HOUR_MS; // 01:00
  const daily = r.daily(now);
  assert.equal(daily.length, 90);
  assert.deepEqual(daily.at(-1), { start: iso(MIDNIGHT), checks: 20, failures: 10, uptime: 0.5, incidents: 0 });
  assert.deepEqual(daily.at(-2), { start: iso(MIDNIGHT - DAY_MS), checks: 40, failures: 10, uptime: 0.75, incidents: 0 });
  assert.ok(daily.slice(0, -2).every((b) => b.checks === 0 && b.uptime === null), 'the days before hold no data');
  const hourly = r.hourly(now);
  assert.equal(hourly.length, 24);
  assert.deepEqual(hourly.at(-1), { start: iso(now), checks: 0, failures: 0, uptime: null, incidents: 0 }, '01:00 has no report yet');
  assert.deepEqual(hourly.at(-2), { start: iso(MIDNIGHT), checks: 20, failures: 10, uptime: 0.5, incidents: 0 });
  assert.deepEqual(hourly.at(-3), { start: iso(MIDNIGHT - HOUR_MS), checks: 10, failures: 10, uptime: 0, incidents: 0 });
  assert.deepEqual(hourly.at(-4), { start: iso(MIDNIGHT - 2 * HOUR_MS), checks: 30, failures: 0, uptime: 1, incidents: 0 });
  assert.equal(r.uptime('24h', now), 1 - 20 / 60);
  assert.equal(r.uptime('7d', now), 1 - 20 / 60);
  assert.equal(r.uptime('30d', now), 1 - 20 / 60);
  // 24 hours after the outage's first minute, the 22:00 and 23:50 reports are out of the 24h window.
  assert.equal(r.uptime('24h', MIDNIGHT + 23 * HOUR_MS), 1 - 10 / 20);
  assert.equal(r.uptime('30d', MIDNIGHT + 23 * HOUR_MS), 1 - 20 / 60);
});

test('a gap in reports is no data: uptime null over an empty window (not 0), and the gap bars have uptime null', () => {
  const r = new TargetRollup();
  for (const w of UPTIME_WINDOWS) assert.equal(r.uptime(w, MIDNIGHT), null, `${w} of a target never reported`);
  r.add(MIDNIGHT, 10, 1, undefined); // 00:00
  r.add(MIDNIGHT + 5 * HOUR_MS, 10, 0, undefined); // 05:00; nothing from 01:00 to 04:59
  const now = MIDNIGHT + 5 * HOUR_MS + 30 * MIN;
  const bars = r.hourly(now);
  assert.deepEqual(bars.slice(-6).map((b) => b.uptime), [0.9, null, null, null, null, 1]);
  assert.deepEqual(bars.slice(-5, -1).map((b) => b.checks), [0, 0, 0, 0]);
  assert.equal(r.uptime('24h', now), 1 - 1 / 20, 'the gap counts neither up nor down');
  // Two days later the 24h window is empty again: null; the 7d window still has both reports.
  const later = MIDNIGHT + 2 * DAY_MS + 6 * HOUR_MS;
  assert.equal(r.uptime('24h', later), null);
  assert.equal(r.uptime('7d', later), 1 - 1 / 20);
  assert.deepEqual(r.daily(later).slice(-3).map((b) => b.uptime), [1 - 1 / 20, null, null]);
});

test('two agents on one target: checks are summed and the uptime is weighted by checks, not averaged per agent', () => {
  const r = new TargetRollup();
  r.add(MIDNIGHT + MIN, 90, 0, lat(0, 90)); // agent a: 90 good checks
  r.add(MIDNIGHT + 2 * MIN, 10, 10, lat(11, 10)); // agent b: 10 checks, all failed
  assert.equal(r.uptime('24h', MIDNIGHT + HOUR_MS - 1), 0.9, 'not (1 + 0) / 2');
  assert.deepEqual(r.hourly(MIDNIGHT + 30 * MIN).at(-1), { start: iso(MIDNIGHT), checks: 100, failures: 10, uptime: 0.9, incidents: 0 });
  assert.deepEqual(r.latency24h(MIDNIGHT + 30 * MIN), [90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]);

  // The same through the board: each agent's report adds into the target's buckets.
  const board = new TargetBoard(() => {});
  const t = (checks: number, failures: number): TargetReport => ({ name: 'web', state: failures > 0 ? 'down' : 'up', checks, failures, latency: lat(0, checks) });
  board.report('a', [t(90, 0)], [], MIDNIGHT + MIN);
  board.report('b', [t(10, 10)], [], MIDNIGHT + 2 * MIN);
  assert.equal(board.get('web')?.rollup.uptime('24h', MIDNIGHT + 3 * MIN), 0.9);
});

test('ring wrap-around: the slot of an hour 168 hours ago and of a day 90 days ago reads as empty', () => {
  const r = new TargetRollup();
  const h0 = MIDNIGHT + 3 * HOUR_MS;
  r.add(h0 + MIN, 10, 5, lat(3, 10), 1);
  // 168 hours on, the current hour has the same slot: it is empty, not the old data.
  const lap = h0 + 168 * HOUR_MS + MIN;
  assert.deepEqual(r.hourly(lap).at(-1), { start: iso(h0 + 168 * HOUR_MS), checks: 0, failures: 0, uptime: null, incidents: 0 });
  assert.equal(r.uptime('24h', lap), null);
  assert.equal(r.uptime('7d', lap), null, 'the 7 days are hours 167 back to now: the old hour is not among them');
  assert.equal(r.uptime('7d', lap - HOUR_MS), 0.5, 'an hour earlier it still was');
  assert.ok(r.hourly(lap, 168).every((b) => b.checks === 0));
  assert.deepEqual(r.latency24h(h0 + 24 * HOUR_MS), new Array<number>(LAT).fill(0), 'latency 24 hours on: the slot reads empty');
  // A new report in the wrapped slot starts from zero.
  r.add(lap, 4, 0, lat(0, 4));
  assert.deepEqual(r.hourly(lap).at(-1), { start: iso(h0 + 168 * HOUR_MS), checks: 4, failures: 0, uptime: 1, incidents: 0 });
  assert.deepEqual(r.latency24h(lap), lat(0, 4));

  const d = new TargetRollup();
  d.add(MIDNIGHT, 10, 5, undefined);
  assert.equal(d.uptime('90d', MIDNIGHT + 89 * DAY_MS), 0.5, 'day 89 on, still in the 90 days');
  assert.deepEqual(d.daily(MIDNIGHT + 89 * DAY_MS)[0], { start: iso(MIDNIGHT), checks: 10, failures: 5, uptime: 0.5, incidents: 0 });
  assert.equal(d.uptime('90d', MIDNIGHT + 90 * DAY_MS), null);
  assert.deepEqual(d.daily(MIDNIGHT + 90 * DAY_MS).at(-1), { start: iso(MIDNIGHT + 90 * DAY_MS), checks: 0, failures: 0, uptime: null, incidents: 0 });
  assert.equal(d.uptime('30d', MIDNIGHT + 30 * DAY_MS), null);
  assert.equal(d.uptime('30d', MIDNIGHT + 29 * DAY_MS), 0.5);
});

// Regression (found at 88e50b7): Ring.slot(n) emptied a slot whenever its stamp was not n, also when the
// slot held a NEWER bucket (n from an earlier lap), and #addLatency did the same.
test('a bucket from an earlier lap of the ring (an alert dated 7 days back, a load out of order) never evicts a newer one', () => {
  const now = MIDNIGHT + 12 * HOUR_MS;
  const r = new TargetRollup();
  r.add(now, 100, 0, lat(0, 100));
  // An incident opened "168 hours ago" (alert.time a week old, hub.ts counts it at openedAt): the same hour slot.
  r.add(now - 168 * HOUR_MS, 0, 0, undefined, 1);
  assert.deepEqual(r.hourly(now).at(-1), { start: iso(now), checks: 100, failures: 0, uptime: 1, incidents: 0 }, 'this hour keeps its checks');
  assert.equal(r.uptime('24h', now), 1);
  // The daily ring: a day 90 days back has today's slot.
  r.add(now - 90 * DAY_MS, 0, 0, undefined, 1);
  assert.equal(r.daily(now).at(-1)?.checks, 100, 'today keeps its checks');
  // The store keeps hourly buckets 8 days (192 hours > 168 slots): loaded newest first, the old ones must not win.
  const rows: BucketRow[] = [
    { target: 'web', size: HOUR_MS, start: now - (now % HOUR_MS), checks: 7, failures: 1, incidents: 0, latency: lat(2, 7) },
    { target: 'web', size: HOUR_MS, start: now - (now % HOUR_MS) - 168 * HOUR_MS, checks: 50, failures: 50, incidents: 0, latency: lat(11, 50) },
  ];
  const loaded = new TargetRollup();
  const packed = packBuckets(rows).rows;
  for (let o = 0; o < packed.length; o += PACKED_WIDTH) loaded.load(packed, o);
  assert.equal(loaded.uptime('24h', now), 1 - 1 / 7);
  assert.deepEqual(loaded.latency24h(now), lat(2, 7));
});

test('quantileMs: empty is null; a quantile on a bucket bound gives that bucket; the open bucket reads as its lower bound', () => {
  assert.equal(quantileMs([], 0.5), null);
  assert.equal(quantileMs(new Array<number>(LAT).fill(0), 0.95), null);
  // 50 checks within 5 ms, 50 within 10 ms: the 50th is the last of the first bucket, the 51st in the second.
  const half = lat(0, 50);
  half[1] = 50;
  assert.equal(quantileMs(half, 0.5), 5);
  assert.equal(quantileMs(half, 0.51), 10);
  assert.equal(quantileMs(half, 0), 5, 'q 0: the first check');
  assert.equal(quantileMs(half, 1), 10);
  // 95 fast and 5 at <= 100 ms: p95 is the 95th check, p96 the first slow one.
  const tail = lat(0, 95);
  tail[4] = 5;
  assert.equal(quantileMs(tail, 0.95), 5);
  assert.equal(quantileMs(tail, 0.96), 100);
  const tail94 = lat(0, 94);
  tail94[4] = 6;
  assert.equal(quantileMs(tail94, 0.95), 100);
  // Every bound, one check each: the k-th check of 12 is bucket k's upper bound.
  const each = new Array<number>(LAT).fill(1);
  for (let k = 0; k < LATENCY_BUCKETS_MS.length; k++) assert.equal(quantileMs(each, (k + 1) / LAT), LATENCY_BUCKETS_MS[k]);
  // All in the open bucket (over 10 s): its lower bound, the last upper bound.
  assert.equal(quantileMs(lat(LAT - 1, 3), 0.5), 10_000);
  assert.equal(quantileMs(each, 1), 10_000);
});

// ---------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------

interface Rep {
  at: number;
  checks: number;
  failures: number;
  latency: number[];
}

/** Reports in arrival order over up to 100 days from MIDNIGHT, and a moment after the last. */
const reports = fc
  .array(
    fc.record({
      gap: fc.oneof(fc.integer({ min: 0, max: 10 * MIN }), fc.integer({ min: 0, max: 3 * DAY_MS })),
      checks: fc.integer({ min: 0, max: 500 }),
      failPart: fc.double({ min: 0, max: 1, noNaN: true }),
      bucket: fc.integer({ min: 0, max: LAT - 1 }),
    }),
    { minLength: 0, maxLength: 80 },
  )
  .chain((raw) =>
    fc.integer({ min: 0, max: 10 * DAY_MS }).map((after) => {
      let at = MIDNIGHT;
      const reps: Rep[] = raw.map((r) => {
        at += r.gap;
        const failures = Math.floor(r.checks * r.failPart);
        return { at, checks: r.checks, failures, latency: lat(r.bucket, r.checks) };
      });
      return { reps, now: at + after };
    }),
  );

const WINDOW_UNITS: Record<UptimeWindow, { unit: number; count: number }> = {
  '24h': { unit: HOUR_MS, count: 24 },
  '7d': { unit: HOUR_MS, count: 168 },
  '30d': { unit: DAY_MS, count: 30 },
  '90d': { unit: DAY_MS, count: 90 },
};

/** 1 - Σfailures/Σchecks over the reports whose hour (or day) is one of the window's last `count`; null with no checks. */
function naiveUptime(reps: readonly Rep[], window: UptimeWindow, now: number): number | null {
  const { unit, count } = WINDOW_UNITS[window];
  const last = Math.floor(now / unit);
  let checks = 0;
  let failures = 0;
  for (const r of reps) {
    const n = Math.floor(r.at / unit);
    if (n > last - count && n <= last) {
      checks += r.checks;
      failures += r.failures;
    }
  }
  return checks > 0 ? 1 - failures / checks : null;
}

test('property: the uptime over every window equals 1 - Σfailures/Σchecks of the reports in it, computed naively; so do the bars', () => {
  fc.assert(
    fc.property(reports, ({ reps, now }) => {
      const r = new TargetRollup();
      for (const rep of reps) r.add(rep.at, rep.checks, rep.failures, rep.latency);
      for (const w of UPTIME_WINDOWS) assert.equal(r.uptime(w, now), naiveUptime(reps, w, now), w);
      const hourly = r.hourly(now, 168);
      hourly.forEach((bar, i) => {
        const start = Math.floor(now / HOUR_MS) * HOUR_MS - (167 - i) * HOUR_MS;
        const inIt = reps.filter((x) => x.at >= start && x.at < start + HOUR_MS);
        assert.equal(bar.start, iso(start));
        assert.equal(bar.checks, inIt.reduce((a, x) => a + x.checks, 0));
        assert.equal(bar.failures, inIt.reduce((a, x) => a + x.failures, 0));
      });
      const daily = r.daily(now);
      daily.forEach((bar, i) => {
        const start = Math.floor(now / DAY_MS) * DAY_MS - (89 - i) * DAY_MS;
        const inIt = reps.filter((x) => x.at >= start && x.at < start + DAY_MS);
        assert.equal(bar.checks, inIt.reduce((a, x) => a + x.checks, 0), bar.start);
        assert.equal(bar.uptime, bar.checks > 0 ? 1 - bar.failures / bar.checks : null);
      });
    }),
    { numRuns: 300 },
  );
});

test('property: the buckets the store keeps (hub tables, node:sqlite in memory) load into the same roll-up as add() built', () => {
  fc.assert(
    fc.property(reports, ({ reps, now }) => {
      const db = new DatabaseSync(':memory:');
      try {
        db.exec(HUB_SCHEMA);
        const hq = new SqliteHubQueries(db);
        const added = new TargetRollup();
        for (const rep of reps) {
          added.add(rep.at, rep.checks, rep.failures, rep.latency);
          hq.addBuckets(rep.at, [{ target: 'web', checks: rep.checks, failures: rep.failures, latency: rep.latency, incidents: 0 }]);
        }
        // What the worker loads at start (sqlite-worker.ts hub-load): hourly rows of 8 days, daily of 91.
        const snapshot = hq.load(now, now - 8 * DAY_MS, now - 91 * DAY_MS);
        const loaded = new TargetRollup();
        for (let o = 0; o < snapshot.buckets.rows.length; o += PACKED_WIDTH) loaded.load(snapshot.buckets.rows, o);
        for (const w of UPTIME_WINDOWS) assert.equal(loaded.uptime(w, now), added.uptime(w, now), w);
        assert.deepEqual(loaded.daily(now), added.daily(now));
        assert.deepEqual(loaded.hourly(now, 168), added.hourly(now, 168));
        assert.deepEqual(loaded.latency24h(now), added.latency24h(now));
      } finally {
        db.close();
      }
    }),
    { numRuns: 150 },
  );
});
