/**
 * scale (issue 4): one agent process against K targets at 1 Hz, K = 100, 1,000 and
 * 5,000 by default. The targets are K paths (/t1 ... /tK) on one local HTTP server
 * that runs as its own process (bench/scale-site.ts) and notes when each request
 * arrives. The agent gets them through `--config FILE`
 * ({"targets": [{"name": "t1", "url": "http://127.0.0.1:PORT/t1"}, ...]}).
 *
 * Per K, after a warm-up: the agent's CPU (utime + stime from /proc/PID/stat, % of one
 * core), its RSS (VmRSS, the largest seen in the window), and the lateness of checks
 * measured at the site: gap between two requests for the same target minus 1000 ms.
 * Goal: 5,000 targets on one core with p99 lateness under 100 ms.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNodeFlags, buildAgentBundle, shippedAgent } from './agent-bundle.ts';
import { defer, type Figures, hasFlag, mb, ms, progress, sleep, startProcess, waitUntil } from './lib.ts';
import { countingMailer } from './local-servers.ts';
import { cpuMeter, statusBytes } from './proc-meters.ts';

export interface ScaleOptions {
  targets: number[];
  seconds: number;
  warmup: number;
}

const B = 'scale';
const INTERVAL_MS = 1000;

interface SiteReport {
  type: 'report';
  seconds: number;
  requests: number;
  other: number;
  ratePerSecond: number;
  gaps: number;
  lateness: { p50: number; p95: number; p99: number; max: number; min: number };
  targetsChecked: number;
  targetsNever: number;
  maxOpenGapMs: number;
  connections: number;
  maxConnections: number;
  cpuPercent: number;
  loopDelayP99Ms: number;
}

/** Send a message over IPC and wait for the answer of the given type. */
function ask<T>(child: ChildProcess, msg: object, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`the site sent no ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown): void => {
      if ((m as { type?: string }).type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    if (Object.keys(msg).length) child.send(msg);
  });
}

async function oneK(figures: Figures, k: number, opts: ScaleOptions, work: string, bundle: string): Promise<void> {
  const site = startProcess(`scale site (${k})`, process.execPath, ['bench/scale-site.ts', '--targets', String(k), '--interval-ms', String(INTERVAL_MS)], { ipc: true });
  const listening = ask<{ port: number }>(site.child, {}, 'listening', 15_000);
  listening.catch(() => {}); // awaited below
  const mailer = await countingMailer();
  try {
    const { port } = await listening;
    const config = join(work, `targets-${k}.json`);
    const targets = Array.from({ length: k }, (_, j) => ({ name: `t${j + 1}`, url: `http://127.0.0.1:${port}/t${j + 1}` }));
    writeFileSync(config, JSON.stringify({ targets }));
    const agentLog = join(work, `agent-${k}.log`);
    const agent = startProcess(`agent (${k} targets)`, process.execPath, shippedAgent(bundle, ['--config', config, '--mailer', mailer.url]), { output: { file: agentLog } });
    const tail = (): string => {
      try {
        return readFileSync(agentLog, 'utf8').split('\n').slice(-15).join('\n');
      } catch {
        return '';
      }
    };
    try {
      const alive = (): void => {
        if (agent.child.exitCode !== null || agent.child.signalCode !== null) throw new Error(`the agent exited (${agent.child.exitCode ?? agent.child.signalCode}):\n${tail()}`);
      };
      progress(B, `K=${k}: waiting for every target's first check`);
      const t0 = performance.now();
      await waitUntil(
        `all ${k} targets to be checked once`,
        async () => {
          alive();
          const { seen } = await ask<{ seen: number }>(site.child, { type: 'seen' }, 'seen');
          return seen >= k ? true : undefined;
        },
        60_000,
        250,
      );
      const allSeenMs = performance.now() - t0;
      progress(B, `K=${k}: all checked after ${allSeenMs.toFixed(0)} ms; warm-up ${opts.warmup} s`);
      await sleep(opts.warmup * 1000);
      alive();

      site.child.send({ type: 'reset' });
      const cpu = await cpuMeter(agent.pid);
      let rssMax = 0;
      const end = performance.now() + opts.seconds * 1000;
      while (performance.now() < end) {
        await sleep(Math.min(1000, Math.max(0, end - performance.now())));
        alive();
        rssMax = Math.max(rssMax, statusBytes(agent.pid));
      }
      const cpuPct = cpu.end();
      const r = await ask<SiteReport>(site.child, { type: 'report' }, 'report');
      progress(B, `K=${k}: ${r.requests} checks in ${r.seconds.toFixed(1)} s, site CPU ${r.cpuPercent.toFixed(0)} %, site loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms`);

      const goal = k === 5000 ? 'on one core: <= 100 %' : undefined;
      figures.add(B, `K=${k}: agent CPU`, `${cpuPct.toFixed(1)} % of one core`, goal);
      figures.add(B, `K=${k}: agent RSS (max in window)`, mb(rssMax));
      figures.add(B, `K=${k}: lateness p50 / p99 / max`, `${ms(r.lateness.p50)} / ${ms(r.lateness.p99)} / ${ms(r.lateness.max)}`, k === 5000 ? 'p99 < 100 ms' : undefined);
      figures.add(
        B,
        `K=${k}: checks/s (expected ${k})`,
        r.ratePerSecond.toFixed(0),
        undefined,
        `${r.targetsChecked}/${k} targets checked in the ${opts.seconds} s window; longest wait at the end ${ms(r.maxOpenGapMs, 0)}; ${r.maxConnections} connections`,
      );
      figures.add(B, `K=${k}: time until every target was checked once`, ms(allSeenMs, 0));
      if (mailer.alerts.length) figures.add(B, `K=${k}: alerts`, String(mailer.alerts.length), '0');
      if (r.cpuPercent > 80 || r.loopDelayP99Ms > 20) {
        figures.note(B, `K=${k}: the site itself was busy (CPU ${r.cpuPercent.toFixed(0)} %, event loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms): part of the lateness may be the site's`);
      }
    } finally {
      await agent.stop();
    }
  } finally {
    await mailer.close();
    await site.stop();
  }
}

export async function scale(figures: Figures, opts: ScaleOptions): Promise<void> {
  if (!(await hasFlag('agent', '--config'))) {
    figures.add(B, 'skipped', 'skipped: agent has no --config yet');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-scale-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    const bundle = await buildAgentBundle(work);
    for (const k of opts.targets) {
      try {
        await oneK(figures, k, opts, work, bundle);
      } catch (err) {
        figures.add(B, `K=${k}: error`, (err as Error).message.split('\n')[0] ?? 'error');
        process.stderr.write(`bench scale K=${k}: ${(err as Error).message}\n`);
      }
    }
    figures.note(B, `interval 1 s; lateness measured at the site (request gap - 1000 ms), ${opts.warmup} s warm-up, ${opts.seconds} s window per K; site in its own process; the agent is the image's bundle with its node flags (${agentNodeFlags().join(' ') || 'none'})`);
  } finally {
    await removeWork();
  }
}
