/**
 * Programs (`--exec <program>`, repeatable; EXEC_COMMAND a comma-separated
 * list; or a `--config` entry `kind: exec`, `command: [path, args…]`): each
 * alert runs the program once, as Alertmanager's and Gatus's "custom" hooks
 * do, without a rebuild of the image. Channels are named exec, exec-2, ….
 *
 * The program:
 * - runs directly (argv, never a shell), in a process group of its own, in
 *   the mailer's working folder, with no temporary file (`docker run
 *   --read-only` works), as the mailer's own user;
 * - reads the alert as one JSON object on stdin: email-content.ts's
 *   AlertRecord (what a generic webhook gets, the incident id included),
 *   then end of file;
 * - gets a minimal environment, never the mailer's (it holds SMTP_URL,
 *   MAILER_TOKEN): PATH, HOME, LANG, TZ when the mailer has them, the
 *   config entry's `env`, and CH2_ALERT_ID, CH2_STATUS, CH2_TARGET, CH2_TO,
 *   CH2_MESSAGE, CH2_REASON, CH2_INCIDENT (one line each, at most
 *   ENV_VALUE_MAX characters; "" when the alert has none);
 * - exits 0: sent; 75 (EX_TEMPFAIL, sysexits.h): transient, retried; any
 *   other status or a signal: permanent (dead letter), the first line of its
 *   stderr the reason ("exit N" when it wrote none);
 * - past --exec-timeout, or when the dispatcher gives up on the send, has its
 *   whole process group killed (SIGKILL), and the attempt is transient.
 * Its stdout goes to /dev/null; of its stderr the first STDERR_KEEP bytes are
 * kept and the rest read and dropped, so a program that writes gigabytes
 * costs neither memory nor log lines.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError, durationArg, durationInRange, envOption, listArg } from '../../../shared/config.ts';
import { formatDurationFlag } from '../../../shared/duration.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { alertRecord } from '../email-content.ts';
import { type Channel, defineKind } from './channel.ts';

export interface ExecSettings {
  /** The program's path, then its arguments. */
  command: string[];
  timeoutMs: number;
  /** More environment variables for the program (a config entry's `env`): secrets, as a rule. */
  env?: Readonly<Record<string, string>>;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const TIMEOUT_MIN_MS = 100;
const TIMEOUT_MAX_MS = 120_000;
/** sysexits.h EX_TEMPFAIL: "temporary failure, try again later". */
export const EX_TEMPFAIL = 75;
/** Bytes of stderr kept; the rest is read and dropped. */
export const STDERR_KEEP = 4096;
/** Characters at most of a CH2_* value (an alert's message may be a megabyte). */
export const ENV_VALUE_MAX = 1000;
const REASON_MAX = 200;
/** The mailer's variables a program gets besides CH2_*: none of them holds a secret. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

/** Checked at start: the program exists, is a file and this uid may run it. Returns its absolute path. */
export function execProgramArg(text: string): string {
  const path = text.trim();
  if (path === '') throw new InvalidArgumentError('Expected the path of a program.');
  const program = resolve(path);
  let isFile: boolean;
  try {
    isFile = statSync(program).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(code === 'ENOENT' ? `${program} does not exist (mount it, or give its full path).` : `cannot read ${program}: ${code ?? (err as Error).message}.`);
  }
  if (!isFile) throw new InvalidArgumentError(`${program} is not a file.`);
  try {
    accessSync(program, constants.X_OK);
  } catch {
    throw new InvalidArgumentError(`${program} is not executable by uid ${process.getuid?.() ?? '?'} (chmod +x it; a volume mounted noexec cannot run programs).`);
  }
  return program;
}

const execList = listArg(execProgramArg, {
  separator: /,/,
  key: (program) => program,
  twice: (program) => new InvalidArgumentError(`${program} is given twice.`),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONFIG_KEYS = ['command', 'timeout', 'env'] as const;

function configCommand(value: unknown): string[] {
  const parts = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((p): p is string => typeof p === 'string')) {
    throw new ConfigError('command: expected a program path, or a list [path, arguments…] of strings.');
  }
  try {
    return [execProgramArg(parts[0]!), ...parts.slice(1)];
  } catch (err) {
    throw new ConfigError(`command: ${(err as Error).message}`);
  }
}

function configEnv(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError('env: expected a map of variable names to values.');
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!ENV_NAME.test(name) || name.startsWith('CH2_')) throw new ConfigError(`env: '${flatten(name, 60)}' is not a variable name a program may get (letters, digits, _; not CH2_*).`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ConfigError(`env.${name}: expected a string (the value is not shown).`);
    if (String(v).includes('\0')) throw new ConfigError(`env.${name}: a value cannot hold a NUL character (the value is not shown).`);
    env[name] = String(v);
  }
  return env;
}

/** What the program reads on stdin: the webhook's JSON record (incident id included). */
export function execInput(item: QueuedAlert): string {
  return `${JSON.stringify(alertRecord(item))}\n`;
}

/** The program's whole environment: never the mailer's own. */
export function execEnv(item: QueuedAlert, extra: Readonly<Record<string, string>> = {}, mailerEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const { alert } = item;
  const line = (value: string | undefined): string => flatten(value ?? '', ENV_VALUE_MAX);
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) if (mailerEnv[name]) env[name] = mailerEnv[name];
  return {
    ...env,
    ...extra,
    CH2_ALERT_ID: line(alert.id),
    CH2_STATUS: alert.status,
    CH2_TARGET: line(alert.target),
    CH2_TO: line(alert.to),
    CH2_MESSAGE: line(alert.message),
    CH2_REASON: line(alert.reason),
    CH2_INCIDENT: line(alert.incident),
  };
}

/** The first line of stderr with text on it, one line, cut. */
export function firstLine(stderr: string): string {
  const line = stderr.split(/\r?\n|\r/).find((l) => l.trim() !== '');
  return line === undefined ? '' : flatten(line, REASON_MAX);
}

/** spawn errors a retry of the same alert would repeat. */
const PERMANENT_SPAWN = new Set(['ENOEXEC', 'E2BIG', 'ENAMETOOLONG', 'ELOOP', 'EISDIR', 'ENOTDIR', 'EINVAL']);

function spawnFailure(err: NodeJS.ErrnoException, program: string): SendResult {
  const code = err.code ?? 'error';
  if (code === 'ENOENT') {
    let exists = false;
    try {
      exists = statSync(program).isFile();
    } catch {}
    // The program is there, so what is missing is its interpreter (its #! line): that will not change.
    if (exists) return permanent(`cannot run ${program}: ENOENT (its #! interpreter does not exist?)`);
    return transient(`cannot run ${program}: it no longer exists (ENOENT)`);
  }
  const text = `cannot run ${program}: ${code}`;
  // EACCES (made non-executable), EAGAIN, ENOMEM, EMFILE, ETXTBSY: the environment, which an operator can fix.
  return PERMANENT_SPAWN.has(code) ? permanent(text) : transient(text);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

export interface ExecRunOptions extends ExecSettings {
  /** The mailer's environment, where PATH, HOME, LANG and TZ come from. */
  mailerEnv?: NodeJS.ProcessEnv;
}

/** How long a killed program may take to be reaped before the attempt settles anyway. */
const REAP_GRACE_MS = 2000;

/** Run the program once for an alert; settles once it has exited (or could not start). */
export function runProgram(item: QueuedAlert, options: ExecRunOptions, signal: AbortSignal): Promise<SendResult> {
  const [program, ...args] = options.command as [string, ...string[]];
  if (signal.aborted) return Promise.resolve(transient('send cancelled'));
  return new Promise((settle) => {
    let stderr = Buffer.alloc(0);
    let killedWhy: string | undefined;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let reapTimer: NodeJS.Timeout | undefined;
    const finish = (result: SendResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(reapTimer);
      signal.removeEventListener('abort', onAbort);
      // A child that left our pipe open (a daemon it started) must not keep the mailer's end alive.
      setImmediate(() => {
        child?.stdin?.destroy();
        child?.stderr?.destroy();
      });
      settle(result);
    };
    const stop = (why: string): void => {
      if (killedWhy !== undefined || done) return;
      killedWhy = why;
      killGroup(child?.pid);
      // A process stuck in the kernel may never be reaped: the attempt still ends.
      reapTimer = setTimeout(() => finish(transient(why)), REAP_GRACE_MS);
    };
    const onAbort = (): void => stop('send cancelled (killed)');

    let child: ReturnType<typeof spawn> | undefined;
    try {
      child = spawn(program, args, {
        shell: false,
        detached: true,
        stdio: ['pipe', 'ignore', 'pipe'],
        env: execEnv(item, options.env, options.mailerEnv),
      });
    } catch (err) {
      // node throws at once for spawn errors other than EACCES, EAGAIN, EMFILE, ENFILE and ENOENT.
      return finish(spawnFailure(err as NodeJS.ErrnoException, program));
    }
    timer = setTimeout(() => stop(`no answer within ${formatDurationFlag(options.timeoutMs)} (killed)`), options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    const { stdin, stderr: errStream } = child;
    errStream?.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr = Buffer.concat([stderr, chunk.subarray(0, STDERR_KEEP - stderr.length)]);
    });
    errStream?.on('error', () => {});
    // EPIPE when the program exits without reading: harmless.
    stdin?.on('error', () => {});
    stdin?.end(execInput(item));

    child.once('error', (err: NodeJS.ErrnoException) => {
      // Only a failure to start ends the attempt here.
      if (child.pid === undefined) finish(spawnFailure(err, program));
    });
    child.once('exit', (code, sig) => {
      const conclude = (): void => {
        if (killedWhy !== undefined) return finish(transient(killedWhy));
        const line = firstLine(stderr.toString('utf8'));
        if (code === 0) return finish(sent());
        if (code === EX_TEMPFAIL) return finish(transient(line || `exit ${EX_TEMPFAIL} (temporary failure)`));
        finish(permanent(line || (sig ? `killed by ${sig}` : `exit ${code}`)));
      };
      // 'exit' may come before the last of stderr: read what is in the pipe, but wait no longer than a moment.
      if (!errStream || errStream.readableEnded || errStream.destroyed) return conclude();
      const grace = setTimeout(conclude, 100);
      errStream.once('close', () => {
        clearTimeout(grace);
        conclude();
      });
    });
  });
}

export function createExecChannel(settings: ExecSettings, name = 'exec'): Channel {
  return {
    name,
    concurrency: 4,
    send: (item, { signal }) => runProgram(item, settings, signal),
  };
}

export const execChannel = defineKind<ExecSettings>({
  kind: 'exec',
  groups: false,
  options: () => [
    envOption('--exec <program>', 'run this program for each alert, the alert as JSON on stdin (repeatable, or a comma-separated list)', 'EXEC_COMMAND').argParser(execList),
    envOption('--exec-timeout <duration>', 'time one run of an --exec program may take; then its process group is killed', 'EXEC_TIMEOUT', durationArg(TIMEOUT_MIN_MS, TIMEOUT_MAX_MS)).default(
      DEFAULT_EXEC_TIMEOUT_MS,
      formatDurationFlag(DEFAULT_EXEC_TIMEOUT_MS),
    ),
  ],
  fromOptions: (opts) => {
    const timeoutMs = (opts.execTimeout as number | undefined) ?? DEFAULT_EXEC_TIMEOUT_MS;
    return ((opts.exec as string[] | undefined) ?? []).map((program) => ({ command: [program], timeoutMs }));
  },
  configKeys: CONFIG_KEYS,
  fromConfig: (entry) => {
    for (const key of Object.keys(entry)) if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw new ConfigError(`${flatten(key, 60)}: not a key of an exec channel (command, timeout, env).`);
    let timeoutMs = DEFAULT_EXEC_TIMEOUT_MS;
    if (entry.timeout !== undefined) {
      if (typeof entry.timeout !== 'string' && typeof entry.timeout !== 'number') throw new ConfigError('timeout: expected a duration such as "10s".');
      try {
        timeoutMs = durationInRange(String(entry.timeout), TIMEOUT_MIN_MS, TIMEOUT_MAX_MS);
      } catch (err) {
        throw new ConfigError(`timeout: ${(err as Error).message}`);
      }
    }
    const env = configEnv(entry.env);
    return { command: configCommand(entry.command), timeoutMs, ...(env ? { env } : {}) };
  },
  secrets: (settings) => Object.values(settings.env ?? {}).filter((v) => v.length > 0),
  create: (settings, ctx) => createExecChannel(settings, ctx.name),
});
