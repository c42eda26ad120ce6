/**
 * The fuzzer's connection driver: writes each input on a connection of its
 * own to host:port, `concurrency` at a time, and notes how each ended. It
 * keeps the inputs in flight and the last ones finished, so that when the
 * target dies (`alive()` says no) they can be saved for a replay. Any answer
 * "HTTP/1.1 5xx" other than 503 counts as a finding too, and so does an
 * answer to a report (`kind: report`) that is not a 2xx or a 4xx/503 with a
 * JSON `error` (report-inputs.ts clearAnswer).
 */
import { connect } from 'node:net';
import type { FuzzInput } from './inputs.ts';
import { clearAnswer } from './report-inputs.ts';

export interface DriveOptions {
  host: string;
  port: number;
  concurrency: number;
  /** Is the target still up? Asked when connections are refused, and every `checkEvery` inputs. */
  alive: () => Promise<boolean>;
  checkEvery?: number;
  /** How long a connection may stay open after its input before the fuzzer drops it. */
  lingerMs?: number;
}

export interface DriveResult {
  inputs: number;
  ms: number;
  /** How connections ended: server-closed, reset, dropped (by the fuzzer), refused. */
  endings: Record<string, number>;
  /** First status line of each answer (or "no answer"), counted. */
  answers: Record<string, number>;
  /** Inputs answered 500 (or another unexpected 5xx). */
  serverErrors: FuzzInput[];
  /** The answers to report inputs, by status, counted. */
  reportAnswers: Record<string, number>;
  /** Report inputs answered without a clear status and error. */
  unclear: FuzzInput[];
  /** The target died: the inputs in flight and the last ones finished then. */
  crash?: FuzzInput[];
}

type Ending = 'server-closed' | 'reset' | 'dropped' | 'refused';

function send(input: FuzzInput, host: string, port: number, lingerMs: number): Promise<{ ending: Ending; answer: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = '';
    let settled = false;
    const finish = (ending: Ending): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ending, answer });
    };
    // An input that leaves its connection open is dropped soon after the first answer. A report
    // (sent as a client does, without half-closing: Node's server drops a request a client
    // half-closed before it answered) may take a while (a gzip bomb inflates to its limit).
    let timer = setTimeout(() => finish('dropped'), input.kind === 'report' ? lingerMs * 10 : input.end ? lingerMs * 4 : lingerMs);
    socket.on('connect', () => {
      let at = 0;
      for (const split of [...input.splits, input.bytes.length]) {
        if (split > at) socket.write(input.bytes.subarray(at, split));
        at = Math.max(at, split);
      }
      if (input.end) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      if (answer.length < 4096) answer += d.toString('latin1');
      if (!input.end) {
        clearTimeout(timer);
        timer = setTimeout(() => finish('dropped'), 50);
      }
    });
    socket.on('end', () => finish('server-closed'));
    socket.on('close', () => finish('server-closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'reset'));
  });
}

export async function drive(source: Iterable<FuzzInput>, options: DriveOptions): Promise<DriveResult> {
  const iterator = source[Symbol.iterator]();
  const lingerMs = options.lingerMs ?? 300;
  const checkEvery = options.checkEvery ?? 5000;
  const result: DriveResult = { inputs: 0, ms: 0, endings: {}, answers: {}, serverErrors: [], reportAnswers: {}, unclear: [] };
  const inFlight = new Set<FuzzInput>();
  const recent: FuzzInput[] = [];
  const t0 = performance.now();
  let stop = false;
  let sinceCheck = 0;

  const died = async (): Promise<boolean> => {
    if (await options.alive()) return false;
    stop = true;
    result.crash ??= [...inFlight, ...recent];
    return true;
  };

  const worker = async (): Promise<void> => {
    while (!stop) {
      const next = iterator.next();
      if (next.done) return;
      const input = next.value;
      inFlight.add(input);
      const { ending, answer } = await send(input, options.host, options.port, lingerMs);
      inFlight.delete(input);
      recent.push(input);
      if (recent.length > 100) recent.shift();
      result.inputs += 1;
      result.endings[ending] = (result.endings[ending] ?? 0) + 1;
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      const key = status ?? (answer.length > 0 ? 'other answer' : 'no answer');
      result.answers[key] = (result.answers[key] ?? 0) + 1;
      if (status !== undefined && status.startsWith('5') && status !== '503' && result.serverErrors.length < 50) result.serverErrors.push(input);
      if (input.kind === 'report') {
        result.reportAnswers[key] = (result.reportAnswers[key] ?? 0) + 1;
        if (answer.length > 0 && !clearAnswer(answer) && result.unclear.length < 50) result.unclear.push(input);
      }
      sinceCheck += 1;
      if ((ending === 'refused' || sinceCheck >= checkEvery) && !stop) {
        sinceCheck = 0;
        if (await died()) return;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (!stop) await died();
  result.ms = performance.now() - t0;
  return result;
}
