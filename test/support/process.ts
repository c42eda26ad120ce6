/**
 * Run our programs as users run them: the esbuild bundles dist/agent.mjs and
 * dist/mailer.mjs (scripts/test.sh builds them first; a bundle older than a
 * source file is refused with the command that fixes it), never the TypeScript
 * sources. A broken lazy chunk therefore fails here as it would for a user.
 *
 * Ports: a child that listens gets --port 0 (or --metrics-port 0) and the test
 * reads the port it bound from its log line, so no port is chosen, freed and
 * then raced for. Output: waitFor() and output() see only what was printed
 * after the last mark(), so a line from an earlier test on a shared process
 * cannot satisfy a later one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export type Program = 'agent' | 'mailer';

const ROOT = resolve(import.meta.dirname, '../..');
const SOURCES: Record<Program, string[]> = { agent: ['agent', 'shared'], mailer: ['mailer', 'shared'] };
const checked = new Set<Program>();

function newestSource(dir: string): { path: string; mtimeMs: number } {
  let newest = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const { mtimeMs } = statSync(path);
    if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}

/** The path of a program's bundle, after checking that it exists and is not older than its sources. */
export function bundle(program: Program): string {
  const path = join(ROOT, 'dist', `${program}.mjs`);
  if (checked.has(program)) return path;
  if (!existsSync(path)) throw new Error(`dist/${program}.mjs is missing: run \`node scripts/build.ts\` (scripts/test.sh does)`);
  const built = statSync(path).mtimeMs;
  for (const dir of SOURCES[program]) {
    const newest = newestSource(join(ROOT, dir));
    if (newest.mtimeMs > built) throw new Error(`dist/${program}.mjs is older than ${relative(ROOT, newest.path)}: run \`node scripts/build.ts\` (scripts/test.sh does)`);
  }
  checked.add(program);
  return path;
}

/** Run a program's bundle to its end (for flag and --help tests). */
export function run(program: Program, args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bundle(program), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface Running {
  child: ChildProcess;
  /** Resolves with the exit code once the child has exited. */
  exited: Promise<number | null>;
  /** What the child printed (stdout and stderr) since the last mark(). */
  output: () => string;
  /** From now on, waitFor() and output() ignore what was printed before. */
  mark: () => void;
  /** Waits for the pattern in the output since the last mark() and returns the match. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  stop: () => Promise<number | null>;
}

/**
 * A port nobody listens on, for a target that must refuse connections. Never
 * hand it to a child to listen on (that is a race with every other process):
 * give the child port 0 and read the bound port from its log (startMailer).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Start a program's bundle. A mailer gets a fresh store folder of its own
 * (removed when it stops) unless the test passes --store or STORE_DIR.
 */
export interface StartOptions {
  /** Start under `ulimit -n` (soft and hard) of this many open files, through sh. */
  openFiles?: number;
  /** This many more descriptors (pipes, fd 3 and up) open in the child from its start. */
  extraFds?: number;
}

export function start(program: Program, args: string[], env: Record<string, string> = {}, options: StartOptions = {}): Running {
  const ownStore =
    program === 'mailer' && env.STORE_DIR === undefined && !args.some((a) => a === '--store' || a.startsWith('--store='))
      ? mkdtempSync(join(tmpdir(), 'ch2-store-'))
      : undefined;
  const argv = [bundle(program), ...args];
  const [command, commandArgs] =
    options.openFiles === undefined ? [process.execPath, argv] : ['sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(command, commandArgs, {
    env: { PATH: process.env.PATH ?? '', ...(ownStore ? { STORE_DIR: ownStore } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(options.extraFds ?? 0).fill('pipe')],
  });
  let text = '';
  let from = 0;
  const waiters = new Set<() => void>();
  const onData = (c: Buffer): void => {
    text += c.toString();
    for (const wake of waiters) wake();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // The extra descriptors only take room: read them to their end, so that 'close' comes at the exit.
  for (const extra of child.stdio.slice(3)) (extra as NodeJS.ReadableStream | null)?.resume();
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      if (ownStore) rmSync(ownStore, { recursive: true, force: true });
      resolve(code);
      for (const wake of waiters) wake();
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    exited,
    output: () => text.slice(from),
    mark: () => {
      from = text.length;
    },
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text.slice(from));
          if (match) finish(() => resolve(match));
          else if (done) finish(() => reject(new Error(`${program} exited without printing ${pattern}:\n${text.slice(from)}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${pattern} in ${program} output within ${timeoutMs}ms:\n${text.slice(from)}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
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

/** Start a mailer on 127.0.0.1 port 0 and wait until it listens; `port` is the one it bound. */
export async function startMailer(args: string[] = [], env: Record<string, string> = {}): Promise<Running & { port: number }> {
  const mailer = start('mailer', ['--port', '0', '--bind', '127.0.0.1', ...args], env);
  try {
    const match = await mailer.waitFor(/Listening on 127\.0\.0\.1:(\d+);/);
    return Object.assign(mailer, { port: Number(match[1]) });
  } catch (err) {
    await mailer.stop();
    throw err;
  }
}

/** The port an agent started with --metrics-port 0 bound. */
export async function metricsPort(agent: Running): Promise<number> {
  const match = await agent.waitFor(/Metrics on port (\d+)\./);
  return Number(match[1]);
}
