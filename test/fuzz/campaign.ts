/**
 * One fuzz campaign against the mailer image: start it (memory-limited, on
 * the default bridge), throw `count` generated inputs at its container IP,
 * then check that it is alive, that its memory stayed bounded, and that a
 * real alert (JSON and raw) still lands. A crash, or an input answered with
 * an unexpected 5xx, is saved under test/fuzz/crashes/ for a replay.
 * `npm run fuzz` runs 100,000 inputs; test/integration/fuzz-short.test.ts a few thousand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { containerIp, docker, dockerOk, followDockerLogs, http, IMAGES, tcpExchange, uniqueName, type LogBuffer } from '../integration/helpers.ts';
import { drive, type DriveResult } from './drive.ts';
import { inputs, type FuzzInput } from './inputs.ts';

export const CRASH_DIR = join(import.meta.dirname, 'crashes');
/** The mailer's memory limit in the campaign, and the use it must stay under. */
const MEMORY_LIMIT = '512m';
export const MEMORY_BOUND_BYTES = 256 * 1024 * 1024;

export interface CampaignOptions {
  count: number;
  seed?: number;
  concurrency?: number;
  /** Progress lines (inputs/s) go here. */
  print?: (line: string) => void;
}

export interface CampaignResult extends DriveResult {
  seed: number;
  perSecond: number;
  alive: boolean;
  memoryBefore: number;
  memoryAfter: number;
  /** ms from sending a real alert after the campaign to its "Sending email" line, JSON and raw. */
  landedMs: { json: number; raw: number } | undefined;
  saved: string[];
  logs: LogBuffer;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1000, MB: 1e6, GB: 1e9 };

/** The container's memory use, bytes (docker stats). */
async function memoryOf(name: string): Promise<number> {
  const r = await dockerOk(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
  const match = /^([\d.]+)\s*([A-Za-z]+)/.exec(r.stdout.trim());
  if (!match) throw new Error(`cannot read docker stats: ${r.stdout}`);
  return Number(match[1]) * (UNITS[match[2]!] ?? Number.NaN);
}

async function running(name: string): Promise<boolean> {
  const r = await docker(['inspect', '-f', '{{.State.Running}}', name]);
  return r.stdout.trim() === 'true';
}

function save(kind: string, seed: number, found: FuzzInput[]): string[] {
  mkdirSync(CRASH_DIR, { recursive: true });
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${seed}`;
  return found.map((input, i) => {
    const file = join(CRASH_DIR, `${stamp}-${kind}-${i}.bin`);
    writeFileSync(file, input.bytes);
    writeFileSync(`${file}.json`, JSON.stringify({ kind: input.kind, splits: input.splits, end: input.end, seed }));
    return file;
  });
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const seed = options.seed ?? randomBytes(4).readUInt32BE(0);
  const print = options.print ?? (() => {});
  const name = uniqueName('fuzz-mailer');
  // The fuzzer is one peer: let it hold its connections, and let its reports past the per-address rate
  // (a 429 comes before the body is read, so the report parser would see a few dozen of them); the idle
  // timeout short, so dropped ones go quickly.
  const args = ['--idle-timeout', '1s', '--max-connections-per-peer', '1000', '--report-rate', '100000', '--to', 'admin@work,*@work'];
  await dockerOk(['run', '-d', '--name', name, '--label', 'org.ch2.integration-test=true', '--memory', MEMORY_LIMIT, IMAGES.mailer, ...args]);
  const { logs, stop } = followDockerLogs(name);
  try {
    await logs.waitFor(/CH2 Example Mailer has started\./, 15_000);
    const host = await containerIp(name);
    const memoryBefore = await memoryOf(name);
    print(`fuzz: seed ${seed}, ${options.count} inputs at ${host}:33333`);
    let last = performance.now();
    let lastCount = 0;
    const source = (function* () {
      let n = 0;
      for (const input of inputs(seed, options.count)) {
        yield input;
        if (++n % 10_000 === 0) {
          const now = performance.now();
          print(`fuzz: ${n} inputs, ${Math.round(((n - lastCount) * 1000) / (now - last))} inputs/s`);
          last = now;
          lastCount = n;
        }
      }
    })();
    const result = await drive(source, { host, port: 33333, concurrency: options.concurrency ?? 64, alive: () => running(name) });
    const perSecond = Math.round((result.inputs * 1000) / result.ms);
    print(`fuzz: ${result.inputs} inputs in ${(result.ms / 1000).toFixed(1)}s, ${perSecond} inputs/s; endings ${JSON.stringify(result.endings)}; answers ${JSON.stringify(result.answers)}; reports answered ${JSON.stringify(result.reportAnswers)}`);
    const saved = [
      ...(result.crash ? save('crash', seed, result.crash) : []),
      ...(result.serverErrors.length > 0 ? save('5xx', seed, result.serverErrors) : []),
      ...(result.unclear.length > 0 ? save('unclear-report', seed, result.unclear) : []),
    ];
    const alive = await running(name);
    const memoryAfter = alive ? await memoryOf(name) : Number.NaN;
    let landedMs: CampaignResult['landedMs'];
    if (alive) {
      const id = `after-fuzz-${randomBytes(4).toString('hex')}`;
      const from = logs.mark();
      const t0 = Date.now();
      const posted = await http('POST', `http://${host}:33333/alerts`, { id, to: 'admin@work', message: `json ${id}` });
      if (posted.status !== 202) throw new Error(`a real alert after the campaign got ${posted.status}: ${posted.text}`);
      const json = (await logs.waitFor(new RegExp(`Sending email: To: admin@work Message: json ${id}`), 5_000, from)).at - t0;
      const t1 = Date.now();
      await tcpExchange(host, 33333, `To: ops@work  Message: raw ${id}`);
      const raw = (await logs.waitFor(new RegExp(`Sending email: To: ops@work {2}Message: raw ${id}`), 5_000, from)).at - t1;
      landedMs = { json, raw };
    }
    print(`fuzz: alive ${alive}; memory ${(memoryBefore / 2 ** 20).toFixed(0)} MiB before, ${(memoryAfter / 2 ** 20).toFixed(0)} MiB after; real alert landed in ${JSON.stringify(landedMs)} ms`);
    for (const file of saved) print(`fuzz: saved ${file}`);
    return { ...result, seed, perSecond, alive, memoryBefore, memoryAfter, landedMs, saved, logs };
  } finally {
    stop();
    await docker(['rm', '-f', '-v', name], { timeoutMs: 30_000 });
  }
}
