/**
 * Run the BUILT programs (dist/agent.mjs, dist/mailer.mjs), as the images do,
 * for process-level tests: what users run is what the tests run. The bundles
 * are (re)built (node scripts/build.ts) when dist/ lacks them or a source file
 * is newer, so a stale bundle is never what a test runs.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Program = 'agent' | 'mailer';
const ROOT = new URL('../..', import.meta.url).pathname;

/** The newest modification time of the sources a bundle is built from, ms. */
function newestSource(): number {
  let newest = statSync(join(ROOT, 'scripts/build.ts')).mtimeMs;
  for (const dir of ['agent', 'mailer', 'shared']) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

let checked = false;
export function bundlePath(program: Program): string {
  const path = join(ROOT, 'dist', `${program}.mjs`);
  if (!checked) {
    checked = true;
    const built = ['agent', 'mailer'].map((p) => join(ROOT, 'dist', `${p}.mjs`));
    const sources = newestSource();
    if (built.some((b) => !existsSync(b) || statSync(b).mtimeMs < sources)) execFileSync(process.execPath, ['scripts/build.ts'], { cwd: ROOT, stdio: 'ignore' });
  }
  return path;
}

/** A clean environment: PATH only, plus `env` (no ambient TARGET, MAILER_TOKEN, ...). */
function cleanEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...env };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a bundle to its exit (for flags that must exit at once); killed after `timeoutMs`. */
export function runBundle(program: Program, args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Finished {
  const r = spawnSync(process.execPath, [bundlePath(program), ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface RunningBundle {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  output: () => string;
  /** Resolves when `pattern` appears in stdout+stderr; rejects at exit or after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
}

/** Start a bundle; a mailer gets a store folder of its own unless --store is given. */
export function startBundle(program: Program, args: string[], env: Record<string, string> = {}): RunningBundle {
  const store = program === 'mailer' && !args.includes('--store') && env.STORE_DIR === undefined ? mkdtempSync(join(tmpdir(), 'ch2-store-')) : undefined;
  const child = spawn(process.execPath, [bundlePath(program), ...args, ...(store ? ['--store', store] : [])], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let both = '';
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    both += c.toString();
    poke();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    both += c.toString();
    poke();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (store) rmSync(store, { recursive: true, force: true });
      resolve(code);
      poke();
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    exited,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no ${pattern} in the ${program}'s output within ${timeoutMs}ms:\n${both}`)), timeoutMs);
        const check = (): void => {
          if (pattern.test(both)) done();
          else if (child.exitCode !== null || child.signalCode !== null) done(new Error(`the ${program} exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${both}`));
        };
        function done(error?: Error): void {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        }
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
