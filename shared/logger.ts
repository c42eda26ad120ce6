/**
 * Logging for both programs. By default the book's plain lines ("System up.",
 * "Sending email: ..."), so `docker logs` reads like the tutorial; with
 * `--log-format json`, pino JSON lines. Secrets (passwords in URLs, tokens)
 * are scrubbed from every line in both formats.
 *
 * Two kinds of line: diagnostics (debug, info, warn, error), which
 * `--log-level` filters, and `output`: what the program is for (the agent's
 * "System down: …" and "Alert: …" lines, the mailer's "Sending email: …"),
 * printed at every level (on stdout; in JSON with level "info").
 */

export const LOG_FORMATS = ['plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** The program's output, not a diagnostic: printed whatever --log-level says. */
  output(msg: string, fields?: Fields): void;
}

export interface LoggerOptions {
  name: string;
  format: LogFormat;
  level: LogLevel;
  /** Exact values never to print (SMTP passwords, tokens). */
  secrets?: readonly string[];
  /** Where plain lines go; defaults to process.stdout / process.stderr. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /**
   * Plain format: gather the lines of one event-loop turn and write them at
   * its end (setImmediate), one write per run of lines for the same stream,
   * in the order they were logged, and at once at exit. One write instead of
   * one per line: the mailer prints a line per alert. Off by default, so a
   * program that also writes to stdout or stderr itself keeps its order.
   */
  batch?: boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// A scheme starts where no scheme character precedes it and is at most 32 long: linear time on
// any line (unbounded, a 64 KiB raw alert of letters took seconds of CPU per log line).
const URL_PASSWORD = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^:/\s@]*:)[^@\s/]+@/gi;
export const REDACTED = '[redacted]';

/** Removes passwords in URLs and any registered secret from a string. */
export function makeScrubber(secrets: readonly string[] = []): (text: string) => string {
  const exact = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text) => {
    // A password in a URL follows "://": most lines have none, and the regex's scan is skipped.
    let out = text.includes('://') ? text.replace(URL_PASSWORD, `$1${REDACTED}@`) : text;
    for (const secret of exact) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
    }
    return out;
  };
}

function scrubValue(value: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof URL) return scrub(value.href);
  if (value instanceof Error) return scrub(value.message);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub, depth + 1));
  const out: Fields = {};
  for (const [key, v] of Object.entries(value)) out[key] = scrubValue(v, scrub, depth + 1);
  return out;
}

/**
 * Streams whose reader went away (EPIPE: `| head`, a closed terminal or log
 * pipe): their lines are dropped from then on and the program goes on (the
 * agent checking and alerting, the mailer delivering). Without a listener
 * the stream's 'error' would stop the program.
 */
const gone = new WeakSet<NodeJS.WritableStream>();
const watched = new WeakSet<NodeJS.WritableStream>();
function watchStream(stream: NodeJS.WritableStream): NodeJS.WritableStream {
  if (!watched.has(stream) && typeof stream.on === 'function') {
    watched.add(stream);
    stream.on('error', () => gone.add(stream));
  }
  return stream;
}
const writeLine = (stream: NodeJS.WritableStream, text: string): void => {
  if (!gone.has(stream)) stream.write(text);
};

/** Create a logger; pino is loaded only for the JSON format. */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const scrub = makeScrubber(options.secrets);
  watchStream(process.stdout);
  watchStream(process.stderr);
  const min = RANK[options.level];
  if (options.format === 'json') {
    const { createPinoLines } = await import('./pino-lines.ts');
    const base = createPinoLines(options.name);
    const write = (level: LogLevel, msg: string, fields: Fields | undefined): void => {
      base[level]((fields ? scrubValue(fields, scrub) : {}) as object, scrub(msg));
    };
    const emit = (level: LogLevel) => (msg: string, fields?: Fields) => {
      if (RANK[level] >= min) write(level, msg, fields);
    };
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), output: (msg, fields) => write('info', msg, fields) };
  }
  const out = watchStream(options.out ?? process.stdout);
  const err = watchStream(options.err ?? process.stderr);
  const write = options.batch ? lineBatcher() : writeLine;
  const emit = (level: LogLevel) => (msg: string) => {
    if (RANK[level] < min) return;
    // Plain lines carry their facts in the message; fields are for JSON.
    write(level === 'info' ? out : err, `${scrub(msg)}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), output: (msg) => write(out, `${scrub(msg)}\n`) };
}

/** Past this many characters waiting, lines are written at once rather than at the end of the turn. */
const BATCH_MAX_CHARS = 64 * 1024;

/**
 * Lines logged during one event-loop turn, written at its end: consecutive
 * lines for the same stream as one write, the streams' lines in the order
 * they were logged. What waits at exit (process.exit, an uncaught error) is
 * written then: stdout and stderr are synchronous for files and pipes.
 */
function lineBatcher(): (stream: NodeJS.WritableStream, text: string) => void {
  let runs: Array<{ stream: NodeJS.WritableStream; text: string }> = [];
  let chars = 0;
  let scheduled = false;
  let exiting = false;
  const flush = (): void => {
    scheduled = false;
    const waiting = runs;
    runs = [];
    chars = 0;
    for (const run of waiting) writeLine(run.stream, run.text);
  };
  process.on('exit', () => {
    exiting = true;
    flush();
  });
  return (stream, text) => {
    if (exiting) return writeLine(stream, text); // no later turn comes
    const last = runs[runs.length - 1];
    if (last !== undefined && last.stream === stream) last.text += text;
    else runs.push({ stream, text });
    chars += text.length;
    if (chars > BATCH_MAX_CHARS) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
