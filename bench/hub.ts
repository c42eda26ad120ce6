/**
 * hub (issues 10, 16): what the status hub costs the mailer. --hub-parts picks
 * ingestion, page and/or store (default all). The mailer runs as a
 * local process from dist/mailer.mjs (temporary store, --port 0, the default
 * log format), on loopback.
 *
 * - Report ingestion: 10 simulated agents watch 1,000 and then 5,000 targets
 *   in all (100 / 500 each); each reports every 10 s as the agent does
 *   (agent/alerting/report-client.ts encodeReport: JSON, gzipped over 16 KiB;
 *   one connection per report), spread: one agent's report every 10 s / 10.
 *   Over --hub-seconds (60): the mailer's CPU (utime + stime of every thread,
 *   /proc/PID/stat) as % of one core, its RSS, the time to each 202. Goal
 *   <= 5 % at 5,000.
 * - The page at 100, 1,000 and 5,000 targets, the store seeded first (the
 *   store module in-process: 8 days of hourly and 90 of daily buckets, target
 *   and agent rows, 1 % of targets down with an open incident, 20 closed
 *   incidents): GET / and GET /api/v1/status, 20 each (median, p95: the
 *   answer's whole time on loopback, keep-alive), GET /'s HTML bytes (goal
 *   <= 100 kB at 1,000); in headless Chromium (test/support/browser.ts), the
 *   time to the first row shown (its name painted, Element Timing) and to
 *   DOMContentLoaded (median of 5 loads). Goal: the first row shown within
 *   300 ms at 1,000, 500 ms at 5,000 (issue 16).
 * - Store size: 1,000 targets over --hub-days (90) simulated days, fast-
 *   forwarded: one buckets write per hour carrying that hour's checks of every
 *   target, the store's clock stepped with it (so retention prunes as it would:
 *   hourly rows 8 days, daily 400); mailer.db (+ -wal) after close, its rows,
 *   and the extrapolation to a year; then the mailer's start on that store.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DatabaseSync } from 'node:sqlite';
import { encodeReport } from '../agent/alerting/report-client.ts';
import { TargetBoard } from '../mailer/hub/target-board.ts';
import { type BucketAdd, DAY_MS, HOUR_MS, PACKED_WIDTH } from '../mailer/hub/model.ts';
import { SqliteStore } from '../mailer/store/sqlite-store.ts';
import { createLogger } from '../shared/logger.ts';
import { type AgentReport, LATENCY_BUCKETS_MS, REPORTS_PATH, type TargetReport } from '../shared/wire-report.ts';
import { defer, type Figures, mb, ms, progress, randomTag, ROOT, sleep, startProcess, stats, waitUntil, withTimeout } from './lib.ts';
import { cpuMeter, statusBytes } from './proc-meters.ts';

export interface HubOptions {
  /** Ingestion window per target count, seconds. */
  seconds: number;
  /** Simulated days for the store size. */
  days: number;
  /** Which parts run (--hub-parts). */
  parts: readonly HubPart[];
}

export const HUB_PARTS = ['ingestion', 'page', 'store'] as const;
export type HubPart = (typeof HUB_PARTS)[number];

const B = 'hub';
const AGENTS = 10;
const INTERVAL_MS = 10_000;
const INGEST_TARGETS = [1000, 5000];
const PAGE_TARGETS = [100, 1000, 5000];
const REQUESTS = 20;
const LOADS = 5;
const L = LATENCY_BUCKETS_MS.length + 1;
const tag = randomTag();
const quietLog = await createLogger({ name: 'bench', format: 'plain', level: 'error', out: new PassThrough(), err: new PassThrough() });

const targetName = (agent: number, i: number): string => `https://site-${agent}-${i}.example.com/health`;
/** Target i (of an agent's, or of all) is down, steadily, when i % 100 == 7: 1 %. */
const isDown = (i: number): boolean => i % 100 === 7;

function latency(checks: number): number[] {
  const h = new Array<number>(L).fill(0);
  h[3] = Math.floor(checks * 0.7); // <= 50 ms
  h[4] = Math.floor(checks * 0.2); // <= 100 ms
  h[5] = checks - h[3]! - h[4]!; // <= 250 ms
  return h;
}

function report(agent: number, perAgent: number, checks: number): AgentReport {
  const targets: TargetReport[] = Array.from({ length: perAgent }, (_, i) =>
    isDown(i)
      ? { name: targetName(agent, i), state: 'down', checks, failures: checks, latency: new Array<number>(L).fill(0), lastFailure: 'HTTP 503 Service Unavailable' }
      : { name: targetName(agent, i), state: 'up', checks, failures: 0, latency: latency(checks) },
  );
  return { v: 1, agent: { name: `bench-agent-${agent}`, instance: `bench-${tag}-${agent}-0001`, version: 'bench' }, sentAt: new Date().toISOString(), intervalMs: INTERVAL_MS, targets };
}

/** POST a report as the agent does (a new connection each); its status and time to the answer. */
async function postReport(port: number, r: AgentReport): Promise<{ status: number; ms: number }> {
  const { body, headers } = await encodeReport(r);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: REPORTS_PATH, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Mailer {
  port: number;
  pid: number;
  startMs: number;
  stop(): Promise<void>;
}

async function startMailer(work: string, store: string, extra: string[] = []): Promise<Mailer> {
  const logFile = join(work, `mailer-${randomTag()}.log`);
  const p = startProcess('mailer', process.execPath, ['dist/mailer.mjs', '--port', '0', '--bind', '127.0.0.1', '--store', store, ...extra], { output: { file: logFile } });
  const port = await waitUntil(
    'the mailer to listen',
    () => {
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (p.child.exitCode !== null) throw new Error(`the mailer exited ${p.child.exitCode}: ${text.slice(-1500)}`);
      const m = /Listening on 127\.0\.0\.1:(\d+);/.exec(text);
      return m && /has started/.test(text) ? Number(m[1]) : undefined;
    },
    60_000,
    20,
  );
  return { port, pid: p.pid, startMs: performance.now() - p.spawnedAt, stop: () => p.stop(5000) };
}

async function ingestion(figures: Figures, work: string, total: number, seconds: number): Promise<number> {
  const perAgent = total / AGENTS;
  const mailer = await startMailer(work, join(work, `store-ingest-${total}`));
  try {
    // Warm-up: every agent's first report (the targets are created), then a few seconds of quiet.
    for (let a = 0; a < AGENTS; a++) await postReport(mailer.port, report(a, perAgent, 10));
    await sleep(2000);
    progress(B, `ingestion: ${AGENTS} agents x ${perAgent} targets, one report every ${INTERVAL_MS / AGENTS} ms, ${seconds} s`);
    const cpu = await cpuMeter(mailer.pid);
    const t0 = performance.now();
    const times: number[] = [];
    let refused = 0;
    const inflight: Promise<void>[] = [];
    const count = Math.floor((seconds * 1000) / (INTERVAL_MS / AGENTS));
    for (let k = 0; k < count; k++) {
      const due = t0 + k * (INTERVAL_MS / AGENTS);
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      inflight.push(
        postReport(mailer.port, report(k % AGENTS, perAgent, 10)).then(
          (r) => {
            times.push(r.ms);
            if (r.status !== 202) refused += 1;
          },
          () => void (refused += 1),
        ),
      );
    }
    const end = t0 + seconds * 1000;
    if (end > performance.now()) await sleep(end - performance.now());
    const pct = cpu.end();
    await withTimeout(Promise.all(inflight), 30_000, 'the last reports');
    const t = stats(times);
    figures.add(B, `ingestion, ${total} targets (${AGENTS} agents x ${perAgent}, each every 10 s): mailer CPU`, `${pct.toFixed(1)} % of one core`, total === 5000 ? '<= 5 %' : undefined, `${count} reports in ${seconds} s${refused ? `; ${refused} not 202` : ''}`);
    figures.add(B, `ingestion, ${total} targets: time to 202 p50 / p95 / max`, `${ms(t.p50)} / ${ms(t.p95)} / ${ms(t.max)}`);
    figures.add(B, `ingestion, ${total} targets: mailer RSS after`, mb(statusBytes(mailer.pid)));
    return mailer.startMs;
  } finally {
    await mailer.stop();
  }
}

/** hubWrite in batches, each awaited (a query after the writes waits for their commit). */
async function barrier(store: SqliteStore): Promise<void> {
  await store.incidents({ state: 'open', limit: 1 });
}

/** A store with K targets' history as a mailer that has watched them 90 days would have it. */
async function seed(dir: string, k: number): Promise<void> {
  const now = Date.now();
  const { store } = await SqliteStore.open({ dir, log: quietLog, dedupeWindowMs: 7 * DAY_MS });
  const names = Array.from({ length: k }, (_, j) => ({ name: targetName(j % AGENTS, Math.floor(j / AGENTS)), down: isDown(j) }));
  const adds = (checks: number): BucketAdd[] => names.map((t) => ({ target: t.name, checks, failures: t.down ? Math.floor(checks / 20) : 0, latency: latency(checks), incidents: 0 }));
  for (let h = 0; h < 8 * 24; h++) {
    store.hubWrite({ op: 'buckets', at: now - h * HOUR_MS, adds: adds(360) });
    if (h % 24 === 23) await barrier(store);
  }
  for (let d = 9; d < 90; d++) {
    store.hubWrite({ op: 'buckets', at: now - d * DAY_MS, adds: adds(8640) });
    if (d % 8 === 0) await barrier(store);
  }
  for (const t of names) store.hubWrite({ op: 'target', row: { name: t.name, state: t.down ? 'down' : 'up', since: now - 3 * HOUR_MS, lastFailure: t.down ? 'HTTP 503 Service Unavailable' : null, alerted: null } });
  for (let a = 0; a < Math.min(AGENTS, k); a++) {
    const targets = names.filter((_, j) => j % AGENTS === a).map((t) => ({ name: t.name, state: t.down ? ('down' as const) : ('up' as const) }));
    store.hubWrite({ op: 'agent', row: { name: `bench-agent-${a}`, instance: `bench-${tag}-${a}-0001`, version: 'bench', firstSeenAt: now - 90 * DAY_MS, instanceSince: now - DAY_MS, lastReportAt: now, intervalMs: INTERVAL_MS, state: 'reporting', targets } });
  }
  const incident = (id: string, target: string, open: boolean, at: number) => ({
    id, target, state: open ? ('open' as const) : ('closed' as const), openedAt: at, resolvedAt: open ? null : at + 240_000, message: `${target} is down`, reason: 'HTTP 503 Service Unavailable', silenced: false,
    recipients: ['admin@work'], events: [{ at, kind: 'alert' as const, text: `alert ${id}-down to admin@work` }],
  });
  names.filter((t) => t.down).forEach((t, i) => store.hubWrite({ op: 'incident', row: incident(`bench-open-${i}`, t.name, true, now - 3 * HOUR_MS) }));
  for (let i = 0; i < 20; i++) store.hubWrite({ op: 'incident', row: incident(`bench-closed-${i}`, names[i % k]!.name, false, now - (i + 1) * DAY_MS) });
  await store.close();
}

async function timeGets(url: string): Promise<{ p50: number; p95: number; bytes: number; status: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (): Promise<{ ms: number; bytes: number; status: number }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      http.get(url, { agent }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ ms: performance.now() - t0, bytes, status: res.statusCode ?? 0 }));
      }).on('error', reject);
    });
  try {
    for (let i = 0; i < 2; i++) await get(); // warm-up
    const runs: Array<{ ms: number; bytes: number; status: number }> = [];
    for (let i = 0; i < REQUESTS; i++) runs.push(await get());
    const s = stats(runs.map((r) => r.ms));
    return { p50: s.p50, p95: s.p95, bytes: runs[0]!.bytes, status: runs.find((r) => r.status !== 200)?.status ?? 200 };
  } finally {
    agent.destroy();
  }
}

type BrowserKit = { browser: import('../test/support/browser.ts').Browser; newPage: typeof import('../test/support/browser.ts').newPage };

async function openBrowser(): Promise<BrowserKit | string> {
  const kit = await import('../test/support/browser.ts').catch((err: Error) => err);
  if (kit instanceof Error) return `n/a (playwright-core: ${kit.message.split('\n')[0]})`;
  if (!existsSync(kit.CHROMIUM)) return 'n/a (no chromium)';
  try {
    return { browser: await kit.launchBrowser(), newPage: kit.newPage };
  } catch (err) {
    return `n/a (chromium: ${(err as Error).message.split('\n')[0]})`;
  }
}

/**
 * In the page (strings: this file has no DOM types), from navigation start: __firstRow, when the first
 * [data-target] row is in the DOM; and the first row *shown*: its name link gets an elementtiming
 * attribute the moment it is parsed (before any paint), and the Element Timing API tells when its text
 * was first painted (renderTime).
 */
const FIRST_ROW_INIT = `new MutationObserver(function (_, self) {
  if (window.__firstRow === undefined && document.querySelector("[data-target]")) window.__firstRow = performance.now();
  var name = document.querySelector("[data-target] .t-name");
  if (name) { name.setAttribute("elementtiming", "first-row"); self.disconnect(); }
}).observe(document, { childList: true, subtree: true });`;

const FIRST_ROW_READ = `new Promise(function (resolve) {
  var n = performance.getEntriesByType("navigation")[0];
  var done = function (shown) { resolve({ responseEnd: n.responseEnd, interactive: n.domInteractive, dcl: n.domContentLoadedEventEnd, firstRow: window.__firstRow, shown: shown }); };
  new PerformanceObserver(function (list) {
    var e = list.getEntries().find(function (x) { return x.identifier === "first-row"; });
    if (e) done(e.renderTime || e.loadTime);
  }).observe({ type: "element", buffered: true });
  setTimeout(function () { done(undefined); }, 5000);
})`;

interface LoadTimes {
  dcl: number;
  firstRow: number;
  shown: number;
  responseEnd: number;
  interactive: number;
}

/** Median over LOADS fresh loads (after one that warms the browser). */
async function browserTimes(kit: BrowserKit, url: string): Promise<LoadTimes> {
  const runs: LoadTimes[] = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const { page, context, close } = await kit.newPage(kit.browser, { viewport: { width: 1280, height: 900 }, guard: false });
    try {
      await context.addInitScript({ content: FIRST_ROW_INIT });
      await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
      const t = (await page.evaluate(FIRST_ROW_READ)) as Partial<LoadTimes>;
      if (i === 0) continue; // the first load warms the browser
      runs.push({ dcl: t.dcl ?? Number.NaN, firstRow: t.firstRow ?? Number.NaN, shown: t.shown ?? Number.NaN, responseEnd: t.responseEnd ?? Number.NaN, interactive: t.interactive ?? Number.NaN });
    } finally {
      await close();
    }
  }
  const median = (k: keyof LoadTimes): number => stats(runs.map((r) => r[k])).p50;
  return { dcl: median('dcl'), firstRow: median('firstRow'), shown: median('shown'), responseEnd: median('responseEnd'), interactive: median('interactive') };
}

async function pageFigures(figures: Figures, work: string): Promise<void> {
  const kit = await openBrowser();
  const closeBrowser = defer('close the browser', () => (typeof kit === 'string' ? undefined : kit.browser.close()));
  try {
    for (const k of PAGE_TARGETS) {
      const store = join(work, `store-page-${k}`);
      progress(B, `page: seeding ${k} targets (8 days hourly, 90 days daily)`);
      const t0 = performance.now();
      await seed(store, k);
      progress(B, `page: seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s; starting the mailer`);
      const mailer = await startMailer(work, store, ['--agent-silence', 'off']);
      try {
        const base = `http://127.0.0.1:${mailer.port}`;
        const page = await timeGets(`${base}/`);
        const api = await timeGets(`${base}/api/v1/status`);
        const note = (r: { bytes: number; status: number }): string => `${(r.bytes / 1024).toFixed(0)} KiB (no Accept-Encoding)${r.status !== 200 ? `; HTTP ${r.status}` : ''}`;
        figures.add(B, `page, ${k} targets: GET / p50 / p95`, `${ms(page.p50)} / ${ms(page.p95)}`, undefined, note(page));
        figures.add(B, `page, ${k} targets: GET /api/v1/status p50 / p95`, `${ms(api.p50)} / ${ms(api.p95)}`, undefined, note(api));
        figures.add(B, `page, ${k} targets: GET / HTML`, `${(page.bytes / 1000).toFixed(1)} kB`, k === 1000 ? '<= 100 kB' : undefined, `${page.bytes} bytes, no Accept-Encoding`);
        const goal = k === 1000 ? '<= 300 ms' : k === 5000 ? '<= 500 ms' : undefined;
        if (typeof kit === 'string') {
          figures.add(B, `page, ${k} targets: browser first row shown / DOMContentLoaded`, kit, goal);
        } else {
          const b = await browserTimes(kit, `${base}/`);
          figures.add(B, `page, ${k} targets: browser first row shown / DOMContentLoaded`, `${ms(b.shown, 0)} / ${ms(b.dcl, 0)}`, goal, `headless Chromium, median of ${LOADS} loads, from navigation start; first row painted (Element Timing); row parsed ${ms(b.firstRow, 0)}, response end ${ms(b.responseEnd, 0)}, DOM interactive ${ms(b.interactive, 0)}`);
        }
      } finally {
        await mailer.stop();
      }
      rmSync(store, { recursive: true, force: true });
    }
  } finally {
    await closeBrowser();
  }
}

async function storeSize(figures: Figures, work: string, days: number, emptyStartMs: number): Promise<void> {
  const targets = 1000;
  const dir = join(work, 'store-size');
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS - days * DAY_MS;
  let clock = start;
  const { store } = await SqliteStore.open({ dir, log: quietLog, dedupeWindowMs: 7 * DAY_MS, now: () => clock });
  const names = Array.from({ length: targets }, (_, j) => targetName(j % AGENTS, Math.floor(j / AGENTS)));
  progress(B, `store size: ${targets} targets x ${days} days, one buckets write an hour (fast-forwarded)`);
  const t0 = performance.now();
  for (let h = 0; h < days * 24; h++) {
    clock = start + h * HOUR_MS + 30 * 60_000;
    // An hour of 10 s checks of one agent, 1 failure in 360 for a target in 100.
    store.hubWrite({ op: 'buckets', at: clock, adds: names.map((name, j) => ({ target: name, checks: 360, failures: j % 100 === 7 ? 1 : 0, latency: latency(360), incidents: 0 })) });
    if (h % 24 === 23) await barrier(store);
  }
  await store.close();
  const writeS = (performance.now() - t0) / 1000;
  const size = (f: string): number => (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0);
  const dbBytes = size('mailer.db');
  const walBytes = size('mailer.db-wal');
  const db = new DatabaseSync(join(dir, 'mailer.db'), { readOnly: true });
  const one = (sql: string): number => Number(Object.values(db.prepare(sql).get() as Record<string, unknown>)[0]);
  const hourly = one(`SELECT count(*) FROM hub_buckets WHERE size = ${HOUR_MS}`);
  const daily = one(`SELECT count(*) FROM hub_buckets WHERE size = ${DAY_MS}`);
  const pageSize = one('PRAGMA page_size');
  const used = (one('PRAGMA page_count') - one('PRAGMA freelist_count')) * pageSize;
  db.close();
  const perRow = used / (hourly + daily);
  const yearRows = targets * (8 * 24 + 365);
  figures.add(B, `store, ${targets} targets x ${days} simulated days: mailer.db + -wal`, `${mb(dbBytes)} + ${mb(walBytes)}`, undefined, `written in ${writeS.toFixed(0)} s (${days * 24} hourly writes of ${targets} adds)`);
  figures.add(B, `store, ${targets} targets x ${days} days: bucket rows (hourly / daily)`, `${hourly} / ${daily}`, `${targets * 8 * 24}-${targets * 9 * 24} / ${targets * days}`, `${(perRow).toFixed(0)} bytes a row in use (${mb(used)} of pages in use, page ${pageSize} B)`);
  figures.add(B, `store, ${targets} targets x 1 year (extrapolated)`, mb(yearRows * perRow), undefined, `${targets} x (8 days x 24 hourly + 365 daily) = ${yearRows} rows x ${perRow.toFixed(0)} B`);
  // Where a start's time goes: the store's load (worker: SQL, then the copy to the main thread), the board built from it.
  const { store: again } = await SqliteStore.open({ dir, log: quietLog, dedupeWindowMs: 7 * DAY_MS, now: () => clock });
  const l0 = performance.now();
  const snapshot = await again.hubLoad();
  const loadMs = performance.now() - l0;
  const b0 = performance.now();
  new TargetBoard(() => {}, snapshot.targets, snapshot.buckets, snapshot.agents);
  const boardMs = performance.now() - b0;
  await again.close();
  figures.add(B, `hub load at start, in-process (${snapshot.buckets.rows.length / PACKED_WIDTH} bucket rows)`, `${ms(loadMs, 0)} + ${ms(boardMs, 0)}`, undefined, 'store.hubLoad() + new TargetBoard(...)');
  const mailer = await startMailer(work, dir, ['--agent-silence', 'off']);
  figures.add(B, `mailer start on that store (${targets} targets, ${days} days of buckets)`, ms(mailer.startMs, 0), undefined, `process start -> "has started", the hub load included; on an empty store ${ms(emptyStartMs, 0)}`);
  await mailer.stop();
}

export async function hub(figures: Figures, opts: HubOptions): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'mailer.mjs'))) throw new Error('dist/mailer.mjs is missing: node scripts/build.ts');
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-hub-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    const starts: number[] = [];
    if (opts.parts.includes('ingestion')) for (const total of INGEST_TARGETS) starts.push(await ingestion(figures, work, total, opts.seconds));
    if (opts.parts.includes('page')) await pageFigures(figures, work);
    if (opts.parts.includes('store')) await storeSize(figures, work, opts.days, starts.length > 0 ? Math.min(...starts) : Number.NaN);
  } finally {
    await removeWork();
  }
}
