/**
 * Shared helpers of the integration tests: the docker CLI, log buffers that can
 * be awaited with a deadline, container starters for the ch2 images (through
 * the ch2/testcontainers module, testcontainers/, as users' tests start them:
 * one container set-up), small HTTP and raw-TCP clients, and a cleanup list
 * that teardown always runs.
 *
 * Every wait has a deadline; no assertion depends on a fixed sleep.
 */
import './setup.ts';
import { after, before } from 'node:test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import type { WaitStrategy } from 'testcontainers';
import { Ch2AgentContainer, Ch2MailerContainer, Ch2SmtpSinkContainer, type StartedCh2AgentContainer, type StartedCh2MailerContainer, type StartedCh2SmtpSinkContainer } from '../../testcontainers/index.ts';

/** CH2_IMAGE_TAG (default latest): the tag of the project images under test, as scripts/images.sh builds them. */
const TAG = process.env.CH2_IMAGE_TAG || 'latest';

export const IMAGES = {
  agent: `ch2/agent:${TAG}`,
  mailer: `ch2/mailer:${TAG}`,
  nginx: 'nginx:latest',
  busybox: 'busybox:latest',
  bookAgent: 'ch2/book-agent:latest',
  bookMailer: 'ch2/book-mailer:latest',
  smtpSink: 'ch2/smtp-sink:latest',
} as const;

/** Label on every container the tests start through the docker CLI (for manual cleanup). */
export const TEST_LABEL = 'org.ch2.integration-test=true';

export const MAILER_STARTED = /CH2 Example Mailer has started\./;
export const SYSTEM_UP = /System up\./;

// ---------------------------------------------------------------------------------
// Processes and the docker CLI
// ---------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the command, ms. */
  ms: number;
}

export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args as string[],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8', ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        resolve({ code, signal: e?.signal ?? null, stdout, stderr: e && typeof e.code === 'string' ? `${stderr}${e.message}` : stderr, ms: performance.now() - t0 });
      },
    );
  });
}

export function docker(args: readonly string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return run('docker', args, opts);
}

/** Run docker; throw with its stderr unless it exits 0. */
export async function dockerOk(args: readonly string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const r = await docker(args, opts);
  if (r.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

/** A short random id, for container, network and project names. */
export function randomId(): string {
  return randomBytes(4).toString('hex');
}

/** Unique container name: ch2it-<random>-<role>. */
export function uniqueName(role: string): string {
  return `ch2it-${randomId()}-${role}`;
}

/** Remove containers by name (force), ignoring ones that are already gone. */
export async function removeContainers(...names: string[]): Promise<void> {
  if (names.length === 0) return;
  await docker(['rm', '-f', '-v', ...names], { timeoutMs: 30_000 });
}

/** IP address of a container on the default bridge (or the first network). */
export async function containerIp(name: string): Promise<string> {
  const r = await dockerOk(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name]);
  const ip = r.stdout.trim().split(/\s+/)[0];
  if (!ip) throw new Error(`container ${name} has no IP address`);
  return ip;
}

// ---------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------

/** Poll `probe` until it returns something other than undefined, or throw after timeoutMs. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}

/** Everything a container (or a process) has printed, stdout and stderr together, with arrival times. */
export class LogBuffer {
  readonly name: string;
  #text = '';
  readonly #waiters = new Set<() => void>();

  constructor(name: string) {
    this.name = name;
  }

  get text(): string {
    return this.#text;
  }

  /** Current length: pass as `from` to waitFor to look only at what comes later. */
  mark(): number {
    return this.#text.length;
  }

  append(chunk: string | Buffer): void {
    this.#text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (const wake of [...this.#waiters]) wake();
  }

  attach(stream: Readable): void {
    stream.on('data', (chunk: string | Buffer) => this.append(chunk));
    stream.on('error', () => {});
  }

  count(re: RegExp, from = 0): number {
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
    return [...this.#text.slice(from).matchAll(g)].length;
  }

  /**
   * Resolve with the match and Date.now() at the moment it arrived (checked on
   * every chunk), or reject after timeoutMs with the end of the log.
   */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<{ match: RegExpExecArray; at: number }> {
    return this.until(`${re}`, () => re.exec(this.#text.slice(from)) ?? undefined, timeoutMs).then(({ value, at }) => ({ match: value, at }));
  }

  /** Wait until `re` has matched at least n times (after `from`). */
  waitForCount(re: RegExp, n: number, timeoutMs: number, from = 0): Promise<{ at: number }> {
    return this.until(`${n} x ${re}`, () => (this.count(re, from) >= n ? true : undefined), timeoutMs);
  }

  /** Wait until check() returns a value; checked now and on every new chunk. */
  until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<{ value: T; at: number }> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve({ value, at: Date.now() });
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in the log of ${this.name}; it ends:\n${this.tail()}`));
      }, timeoutMs);
      const waker = (): void => void attempt();
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waker);
      };
      if (attempt()) return;
      this.#waiters.add(waker);
    });
  }

  tail(lines = 25): string {
    return this.#text.split('\n').slice(-lines - 1).map((l) => `  | ${l}`).join('\n');
  }
}

/** `docker logs -f <name>` into a LogBuffer (stdout and stderr). Stop it with the returned stop(). */
export function followDockerLogs(name: string): { logs: LogBuffer; stop: () => void; process: ChildProcess } {
  const logs = new LogBuffer(name);
  const child = spawn('docker', ['logs', '-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => logs.append(c));
  child.stderr.on('data', (c: Buffer) => logs.append(c));
  child.on('error', () => {});
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  return { logs, stop, process: child };
}

// ---------------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------------

/** Teardown steps, run last-in first-out; every step runs even when one fails. */
export class Cleanup {
  readonly #steps: { what: string; fn: () => Promise<unknown> | unknown }[] = [];

  defer(what: string, fn: () => Promise<unknown> | unknown): void {
    this.#steps.push({ what, fn });
  }

  container(c: StartedTestContainer | undefined): void {
    if (c) this.defer(`stop container ${c.getName()}`, () => c.stop({ timeout: 2_000 }));
  }

  network(n: StartedNetwork | undefined): void {
    if (n) this.defer(`remove network ${n.getName()}`, () => n.stop());
  }

  names(...names: string[]): void {
    this.defer(`docker rm -f ${names.join(' ')}`, () => removeContainers(...names));
  }

  async run(): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        // A container already stopped by the test is not a teardown failure.
        const msg = (err as Error).message ?? String(err);
        if (!/no such container|is not running|not found|404/i.test(msg)) console.error(`cleanup: ${step.what}: ${msg}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Containers (testcontainers)
// ---------------------------------------------------------------------------------

export interface Started<C extends StartedTestContainer = StartedTestContainer> {
  container: C;
  logs: LogBuffer;
}

export async function startNetwork(cleanup: Cleanup): Promise<StartedNetwork> {
  const net = await new Network().start();
  cleanup.network(net);
  return net;
}

/** A describe block's network, started before its tests (handed to `use`); its cleanup list runs after them. */
export function withSuiteNetwork(cleanup: Cleanup, use: (net: StartedNetwork) => void): void {
  before(async () => use(await startNetwork(cleanup)), { timeout: 30_000 });
  after(() => cleanup.run(), { timeout: 60_000 });
}

interface StartOptions {
  aliases?: string[];
  args?: string[];
  env?: Record<string, string>;
  exposed?: number[];
  wait?: WaitStrategy;
  name?: string;
  startupTimeoutMs?: number;
}

/** Start a configured container on `net`, its log in a LogBuffer, registered with `cleanup` before start returns. */
async function launch<C extends StartedTestContainer>(c: GenericContainer & { start(): Promise<C> }, label: string, net: StartedNetwork, cleanup: Cleanup, opts: StartOptions): Promise<Started<C>> {
  const logs = new LogBuffer(opts.name ?? `${label} (${opts.aliases?.join(',') ?? '-'})`);
  c.withNetwork(net)
    .withLogConsumer((stream) => logs.attach(stream))
    .withStartupTimeout(opts.startupTimeoutMs ?? 30_000);
  if (opts.aliases?.length) c.withNetworkAliases(...opts.aliases);
  if (opts.args?.length) c.withCommand(opts.args);
  if (opts.env) c.withEnvironment(opts.env);
  if (opts.exposed?.length) c.withExposedPorts(...opts.exposed);
  if (opts.wait) c.withWaitStrategy(opts.wait);
  if (opts.name) c.withName(opts.name);
  let container: C;
  try {
    container = (await c.start()) as C;
  } catch (err) {
    // testcontainers removes a container that never got ready; keep what it printed.
    throw new Error(`${(err as Error).message}\n${logs.name} printed:\n${logs.tail()}`, { cause: err });
  }
  cleanup.container(container);
  return { container, logs };
}

/** Start a container of any image on `net` (see launch). */
export function startContainer(image: string, net: StartedNetwork, cleanup: Cleanup, opts: StartOptions = {}): Promise<Started> {
  return launch(new GenericContainer(image), image, net, cleanup, opts);
}

export function startNginx(net: StartedNetwork, cleanup: Cleanup, alias = 'insideweb'): Promise<Started> {
  return startContainer(IMAGES.nginx, net, cleanup, {
    aliases: [alias],
    exposed: [80],
    wait: Wait.forHttp('/', 80).forStatusCode(200),
    name: uniqueName('web'),
  });
}

/**
 * ch2/smtp-sink on `net` under `alias` (Ch2SmtpSinkContainer: STARTTLS off, as its certificate
 * is self-signed and a plain smtp:// URL verifies certificates); `api` is its HTTP API (messages, webhooks).
 */
export async function startSmtpSink(net: StartedNetwork, cleanup: Cleanup, alias = 'smtp'): Promise<Started<StartedCh2SmtpSinkContainer> & { api: string }> {
  const sink = await launch(new Ch2SmtpSinkContainer(IMAGES.smtpSink), IMAGES.smtpSink, net, cleanup, { aliases: [alias], name: uniqueName(alias) });
  return { ...sink, api: sink.container.getApiUrl() };
}

/**
 * Our mailer (Ch2MailerContainer) under `aliases` (insidemailer), as `docker run ch2/mailer <args>` starts it:
 * no token of the module's (a test gives MAILER_TOKEN in env or --token in args), ready at its start line.
 */
export function startMailer(net: StartedNetwork, cleanup: Cleanup, opts: { aliases?: string[]; args?: string[]; env?: Record<string, string> } = {}): Promise<Started<StartedCh2MailerContainer>> {
  return launch(new Ch2MailerContainer(IMAGES.mailer).withToken(null), IMAGES.mailer, net, cleanup, {
    aliases: opts.aliases ?? ['insidemailer'],
    ...(opts.args ? { args: opts.args } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    name: uniqueName('mailer'),
  });
}

/** Our agent (Ch2AgentContainer), as `docker run ch2/agent <args>` starts it (no metrics of the module's), ready at `System up.` unless `wait` says. */
export function startAgent(
  net: StartedNetwork,
  cleanup: Cleanup,
  opts: { args?: string[]; env?: Record<string, string>; wait?: WaitStrategy } = {},
): Promise<Started<StartedCh2AgentContainer>> {
  return launch(new Ch2AgentContainer(IMAGES.agent).withoutMetrics(), IMAGES.agent, net, cleanup, {
    ...(opts.args ? { args: opts.args } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    wait: opts.wait ?? Wait.forLogMessage(SYSTEM_UP),
    name: uniqueName('agent'),
  });
}

// ---------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------

export interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export async function http(method: string, url: string, body?: unknown, opts: { timeoutMs?: number; raw?: boolean } = {}): Promise<HttpAnswer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) };
  if (body !== undefined) {
    init.body = opts.raw || typeof body === 'string' ? (body as string) : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/**
 * GET `path` from inside a mailer container, on its loopback: without --token the
 * mailer answers GET /alerts to loopback peers only.
 */
export async function httpOnLoopback(container: StartedTestContainer, path: string, port = 33333): Promise<HttpAnswer> {
  const script = `fetch('http://127.0.0.1:${port}' + process.argv[1]).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })))`;
  const r = await dockerOk(['exec', container.getId(), 'node', '-e', script, path]);
  const { status, text } = JSON.parse(r.stdout) as { status: number; text: string };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, text, json, headers: new Headers() };
}

export interface TcpOutcome {
  /** Everything the server sent back. */
  received: string;
  /** How the connection ended. */
  ended: 'server-closed' | 'reset' | 'timeout';
  error?: string;
  /** ms from connect to close. */
  ms: number;
}

/**
 * Open a TCP connection, write `bytes` (if any), half-close unless `keepOpen`,
 * and wait until the other side closes (or timeoutMs passes, then destroy).
 */
export function tcpExchange(host: string, port: number, bytes: Buffer | string | undefined, opts: { keepOpen?: boolean; timeoutMs?: number } = {}): Promise<TcpOutcome> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    let connectedAt = performance.now();
    const socket = connect({ host, port });
    const finish = (ended: TcpOutcome['ended'], error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, ended, ms: performance.now() - connectedAt, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => {
      connectedAt = performance.now();
      if (bytes !== undefined && bytes.length > 0) socket.write(bytes);
      if (!opts.keepOpen) socket.end();
    });
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('end', () => finish('server-closed'));
    socket.on('close', (hadError) => finish(hadError ? 'reset' : 'server-closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish('reset', err.code ?? err.message));
  });
}

/** Date.now() around an async step. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; start: number; end: number; ms: number }> {
  const start = Date.now();
  const value = await fn();
  const end = Date.now();
  return { value, start, end, ms: end - start };
}

export { Wait };
export type { StartedNetwork, StartedTestContainer };
