/**
 * Shared pieces of the benchmarks: figures and statistics, child processes with
 * timestamped line readers, the docker CLI, and one cleanup list that runs on
 * success, failure and Ctrl-C. /proc sampling is in proc-meters.ts, small
 * local HTTP servers in local-servers.ts.
 *
 * Every wait has a deadline. Progress goes to stderr; figures to stdout.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------

/** One printed figure; never asserted. */
export interface Figure {
  bench: string;
  figure: string;
  value: string;
  goal?: string;
  note?: string;
}

export class Figures {
  readonly rows: Figure[] = [];
  readonly notes: string[] = [];

  add(bench: string, figure: string, value: string, goal?: string, note?: string): void {
    const row: Figure = { bench, figure, value };
    if (goal !== undefined) row.goal = goal;
    if (note !== undefined) row.note = note;
    this.rows.push(row);
    // Figures go to stdout as they come; the summary table repeats them at the end.
    const extra = [goal ? `goal ${goal}` : '', note ?? ''].filter(Boolean).join('; ');
    process.stdout.write(`${bench}: ${figure} = ${value}${extra ? `  (${extra})` : ''}\n`);
  }

  note(bench: string, text: string): void {
    this.notes.push(`${bench}: ${text}`);
    process.stdout.write(`${bench}: note: ${text}\n`);
  }
}

/** Progress line on stderr. */
export function progress(bench: string, text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${bench}: ${text}\n`);
}

// ---------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------

export interface Stats {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function stats(values: readonly number[] | Float64Array): Stats {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const arr = Array.from(sorted);
  return {
    n,
    min: n ? arr[0]! : Number.NaN,
    p50: percentile(arr, 50),
    p95: percentile(arr, 95),
    p99: percentile(arr, 99),
    max: n ? arr[n - 1]! : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

export function ms(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)} ms` : 'n/a';
}

export function mb(bytes: number, digits = 1): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(digits)} MB` : 'n/a';
}

// ---------------------------------------------------------------------------------
// Cleanup: last in, first out; also on SIGINT/SIGTERM
// ---------------------------------------------------------------------------------

type Step = { what: string; fn: () => Promise<unknown> | unknown };
const steps: Step[] = [];

/** Register a teardown step; returns a function that runs it now (once) and unregisters it. */
export function defer(what: string, fn: () => Promise<unknown> | unknown): () => Promise<void> {
  const step: Step = { what, fn };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i === -1) return;
    steps.splice(i, 1);
    await runStep(step);
  };
}

async function runStep(step: Step): Promise<void> {
  try {
    await withTimeout(Promise.resolve().then(step.fn), 30_000, `cleanup: ${step.what}`);
  } catch (err) {
    process.stderr.write(`bench cleanup: ${step.what}: ${(err as Error).message}\n`);
  }
}

export async function cleanupAll(): Promise<void> {
  while (steps.length > 0) await runStep(steps.pop()!);
}

/** Set by SIGINT/SIGTERM: nothing new is started after it. */
let aborted = false;

export function isAborted(): boolean {
  return aborted;
}

export function checkAborted(): void {
  if (aborted) throw new Error('aborted by a signal');
}

/** Docker commands running now, and containers this process named and has not removed. */
const inflight = new Set<Promise<unknown>>();
const ownContainers = new Set<string>();

/** Remove every container this run created that is still there (after a race with cleanup). */
export async function sweepContainers(): Promise<void> {
  await withTimeout(Promise.allSettled([...inflight]), 60_000, 'docker commands to finish').catch(() => {});
  if (ownContainers.size) await removeContainers(...ownContainers);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (aborted) return;
    aborted = true;
    process.stderr.write(`\nbench: ${sig}; cleaning up ...\n`);
    void cleanupAll()
      .then(sweepContainers)
      .then(cleanupAll)
      .finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------

export function sleep(msDelay: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msDelay));
}

export function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Poll until probe returns a value, or throw after timeoutMs. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${(lastError as Error).message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------
// Lines with arrival times
// ---------------------------------------------------------------------------------

export interface Line {
  text: string;
  /** performance.now() when the chunk holding the line's end arrived. */
  at: number;
}

/** Collects lines from streams, each stamped with its arrival time; lines can be awaited. */
export class Lines {
  readonly name: string;
  readonly lines: Line[] = [];
  #partial = '';
  #waiters = new Set<() => void>();
  #listeners: ((line: Line) => void)[] = [];
  /** Keep at most this many lines (older ones are dropped; counts stay right). */
  readonly #keep: number;
  #dropped = 0;

  constructor(name: string, keep = 10_000) {
    this.name = name;
    this.#keep = keep;
  }

  get total(): number {
    return this.#dropped + this.lines.length;
  }

  attach(stream: NodeJS.ReadableStream): void {
    stream.on('data', (chunk: Buffer | string) => this.push(chunk.toString()));
    stream.on('error', () => {});
  }

  push(chunk: string): void {
    const at = performance.now();
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const text of parts) {
      const line = { text: text.replace(/\r$/, ''), at };
      this.lines.push(line);
      for (const l of this.#listeners) l(line);
    }
    if (this.lines.length > this.#keep) {
      const drop = this.lines.length - this.#keep;
      this.lines.splice(0, drop);
      this.#dropped += drop;
    }
    for (const w of [...this.#waiters]) w();
  }

  /** Call fn for every line from now on. */
  onLine(fn: (line: Line) => void): void {
    this.#listeners.push(fn);
  }

  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l.text)).length;
  }

  /** The first line matching re at or after absolute index `from`. */
  find(re: RegExp, from = 0): Line | undefined {
    const start = Math.max(0, from - this.#dropped);
    for (let i = start; i < this.lines.length; i++) if (re.test(this.lines[i]!.text)) return this.lines[i];
    return undefined;
  }

  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const hit = this.find(re, from);
        if (!hit) return false;
        done();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} from ${this.name}; last lines:\n${this.tail()}`));
      }, timeoutMs);
      const waker = (): void => void attempt();
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waker);
      };
      if (!attempt()) this.#waiters.add(waker);
    });
  }

  tail(n = 10): string {
    return this.lines.slice(-n).map((l) => `  | ${l.text}`).join('\n');
  }
}

// ---------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr lines, when output is 'pipe'. */
  out: Lines;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Env vars the agent and mailer read; not passed on from the harness's env. */
const PROGRAM_ENV = /^(TARGET|MAILER_URL|MAILER_PROTOCOL|INTERVAL|TIMEOUT|CONNECT_TIMEOUT|EXPECT_STATUS|ALERT_.*|EXIT_ON_ALERT|LOG_FORMAT|LOG_LEVEL|PORT|BIND_ADDRESS|MAX_ALERT_BYTES|IDLE_TIMEOUT|MAX_RETRY_AGE|SMTP_.*|STORE_DIR|MAILER_TOKEN|CONFIG|METRICS_PORT|INSIDEWEB_.*|INSIDEMAILER_.*)$/;

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!PROGRAM_ENV.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Spawn a process. output: 'pipe' (lines collected in `out`), 'ignore', or a file
 * path that receives stdout and stderr. Registered for cleanup.
 */
export function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { output?: 'pipe' | 'ignore' | { file: string }; env?: NodeJS.ProcessEnv; cwd?: string; keepLines?: number; ipc?: boolean } = {},
): Proc {
  checkAborted();
  const output = opts.output ?? 'pipe';
  let fd: number | undefined;
  let stdio: ('pipe' | 'ignore' | 'ipc' | number)[];
  if (output === 'pipe') stdio = ['ignore', 'pipe', 'pipe'];
  else if (output === 'ignore') stdio = ['ignore', 'ignore', 'ignore'];
  else {
    fd = openSync(output.file, 'a');
    stdio = ['ignore', fd, fd];
  }
  if (opts.ipc) stdio.push('ipc');
  const spawnedAt = performance.now();
  const child = spawn(cmd, args as string[], { stdio, env: opts.env ?? cleanEnv(), cwd: opts.cwd ?? ROOT });
  if (fd !== undefined) closeSync(fd);
  const out = new Lines(name, opts.keepLines ?? 10_000);
  if (child.stdout) out.attach(child.stdout);
  if (child.stderr) out.attach(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await withTimeout(exited, 5000, `${name} to exit after SIGKILL`).catch(() => {});
    }
  };
  const undefer = defer(`stop ${name} (pid ${child.pid})`, () => stop());
  void exited.then(() => void undefer());
  return { child, pid: child.pid, out, spawnedAt, exited, stop };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(cmd: string, args: readonly string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args as string[], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', cwd: ROOT, env: env ?? cleanEnv() }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      resolve({ code, stdout, stderr: e && typeof e.code === 'string' ? `${stderr}${e.message}` : stderr, ms: performance.now() - t0 });
    });
  });
}

export async function docker(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  if (args[0] === 'run' || args[0] === 'create') {
    checkAborted();
    const i = args.indexOf('--name');
    if (i !== -1 && args[i + 1]) ownContainers.add(args[i + 1]!);
  }
  const p = run('docker', args, timeoutMs);
  inflight.add(p);
  try {
    return await p;
  } finally {
    inflight.delete(p);
  }
}

export async function dockerOk(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r;
}

export async function haveImage(tag: string): Promise<boolean> {
  return (await docker(['image', 'inspect', tag], 20_000)).code === 0;
}

/** Label on every container the benchmarks start. */
export const BENCH_LABEL = 'org.ch2.bench=true';

/** docker rm -f -v, ignoring containers that are gone. */
export async function removeContainers(...names: string[]): Promise<void> {
  if (!names.length) return;
  const r = await run('docker', ['rm', '-f', '-v', ...names], 60_000);
  if (r.code === 0) {
    for (const n of names) ownContainers.delete(n);
    return;
  }
  // A name that is gone already is fine; keep the others for the final sweep.
  const gone = new Set([...r.stderr.matchAll(/No such container: (\S+)/gi)].map((m) => m[1]!));
  const removed = new Set(r.stdout.split('\n').map((l) => l.trim()));
  for (const n of names) if (gone.has(n) || removed.has(n)) ownContainers.delete(n);
}

export function randomTag(): string {
  return Math.random().toString(16).slice(2, 8);
}

// ---------------------------------------------------------------------------------
// The programs' --help, to see which flags exist today
// ---------------------------------------------------------------------------------

const helpCache = new Map<string, string>();

export async function helpOf(program: 'agent' | 'mailer'): Promise<string> {
  const cached = helpCache.get(program);
  if (cached !== undefined) return cached;
  const r = await run(process.execPath, [`${program}/main.ts`, '--help'], 30_000);
  const text = `${r.stdout}\n${r.stderr}`;
  helpCache.set(program, text);
  return text;
}

export async function hasFlag(program: 'agent' | 'mailer', flag: string): Promise<boolean> {
  const help = await helpOf(program);
  return new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=<\\[]|$)`, 'm').test(help);
}
