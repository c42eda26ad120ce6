/**
 * intake (issue 3): the mailer's durable intake rate and time to 202.
 *
 * The mailer runs as a local process (`node mailer/main.ts --port P --bind 127.0.0.1
 * --store DIR`), its log in a file. `concurrency` senders, each on its own
 * kept-alive connection (lean-http-client.ts), POST JSON alerts with fresh ids
 * to /alerts: first a warm-up, then `count` alerts that are timed. Every
 * answer must be 202.
 * Goal: at least 5,000 alerts/s and p99 under 20 ms.
 *
 * BENCH_MAILER=<bundle> times another build (a checkout of an earlier commit
 * built the same way) with this load; BENCH_NODE_ARGS passes node flags to the
 * mailer (for example --cpu-prof --cpu-prof-dir=/tmp/prof), BENCH_MAILER_ARGS
 * more mailer flags (for example --status-page off).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { LeanConnection } from './lean-http-client.ts';
import { defer, type Figures, hasFlag, mb, ms, progress, startProcess, stats, waitUntil, withTimeout } from './lib.ts';
import { freePort } from './local-servers.ts';
import { cpuMeter, machineCpuMeter, statusBytes } from './proc-meters.ts';

export interface IntakeOptions {
  count: number;
  warmup: number;
  concurrency: number;
}

const B = 'intake';

/** The filesystem type holding `dir` (longest matching mount point). */
function fsTypeOf(dir: string): string {
  try {
    let best = { mount: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type] = line.split(' ');
      if (!mount || !type) continue;
      if ((dir === mount || dir.startsWith(mount.endsWith('/') ? mount : `${mount}/`)) && mount.length > best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

/** CPU of this process (the load generator) over a window, % of one core. */
function cpuMeterSelf(): { end(): number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return {
    end() {
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
    },
  };
}

export async function intake(figures: Figures, opts: IntakeOptions): Promise<void> {
  const durable = await hasFlag('mailer', '--store');
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-intake-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    const store = join(work, 'store');
    const logFile = join(work, 'mailer.log');
    const port = await freePort();
    const args = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), process.env.BENCH_MAILER ?? 'dist/mailer.mjs', '--port', String(port), '--bind', '127.0.0.1', ...(process.env.BENCH_MAILER_ARGS?.split(' ').filter(Boolean) ?? [])];
    if (durable) args.push('--store', store);
    else figures.note(B, 'the mailer has no --store flag yet: this intake is NOT durable (in memory, no fsync)');
    const fsType = fsTypeOf(work);
    if (durable && /tmpfs|ramfs/.test(fsType)) figures.note(B, `store on ${fsType}: fsync costs nothing there, the figure is not a disk figure`);
    progress(B, `mailer on 127.0.0.1:${port}${durable ? `, store ${store} (${fsType})` : ''}; log in ${logFile}`);
    const mailer = startProcess('mailer', process.execPath, args, { output: { file: logFile } });
    const origin = `http://127.0.0.1:${port}`;
    const pool = new Pool(origin, { connections: opts.concurrency, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000, keepAliveTimeout: 60_000 });
    const closePool = defer('close the undici pool', () => pool.destroy());
    try {
      await waitUntil(
        'the mailer to answer GET /healthz',
        async () => {
          if (mailer.child.exitCode !== null) throw new Error(`the mailer exited ${mailer.child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
          const res = await pool.request({ method: 'GET', path: '/healthz' });
          await res.body.dump();
          return res.statusCode === 200 ? true : undefined;
        },
        20_000,
        100,
      );

      // One kept-alive connection per sender for both phases, connected before any request is timed.
      const connections = Array.from({ length: opts.concurrency }, () => new LeanConnection('127.0.0.1', port));
      const closeConnections = defer('close the senders\' connections', () => {
        for (const c of connections) c.close();
      });
      await Promise.all(connections.map((c) => c.ready));
      const phase = async (n: number, record: boolean): Promise<{ seconds: number; lat: Float64Array; bad: Map<string, number> }> => {
        const lat = new Float64Array(record ? n : 0);
        const bad = new Map<string, number>();
        let next = 0;
        const t0 = performance.now();
        const sendAll = async (connection: LeanConnection): Promise<void> => {
          for (;;) {
            const i = next++;
            if (i >= n) return;
            const body = JSON.stringify({ to: 'admin@work', message: 'bench', id: randomUUID() });
            const start = performance.now();
            let status: string;
            try {
              status = String(await connection.post('127.0.0.1', '/alerts', body));
            } catch (err) {
              status = (err as { code?: string }).code ?? (err as Error).message;
            }
            if (record) lat[i] = performance.now() - start;
            if (status !== '202') bad.set(status, (bad.get(status) ?? 0) + 1);
          }
        };
        // Bounded in count (n) and in time (the withTimeout below).
        await withTimeout(Promise.all(connections.map(sendAll)), Math.max(120_000, n * 5), `${n} alerts`);
        return { seconds: (performance.now() - t0) / 1000, lat, bad };
      };

      progress(B, `warm-up: ${opts.warmup} alerts, ${opts.concurrency} concurrent senders`);
      const warm = await phase(opts.warmup, false);
      if (warm.bad.size) figures.note(B, `warm-up answers other than 202: ${JSON.stringify(Object.fromEntries(warm.bad))}`);

      progress(B, `measuring: ${opts.count} alerts, ${opts.concurrency} concurrent senders`);
      const commits = async (): Promise<number | undefined> => {
        const res = await pool.request({ method: 'GET', path: '/healthz' });
        const body = (await res.body.json()) as { storeCommits?: number };
        return body.storeCommits;
      };
      const commits0 = await commits();
      const cpu = await cpuMeter(mailer.pid);
      const ownCpu = cpuMeterSelf();
      const machine = machineCpuMeter();
      const timed = await phase(opts.count, true);
      const mailerCpu = cpu.end();
      const senderCpu = ownCpu.end();
      const machineCpu = machine.end();
      const rss = statusBytes(mailer.pid);
      const commits1 = await commits();
      const s = stats(timed.lat);
      const rate = opts.count / timed.seconds;
      const badCount = [...timed.bad.values()].reduce((a, b) => a + b, 0);

      const kind = durable ? 'durable' : 'NOT durable';
      figures.add(B, `alerts/s (${kind}, ${opts.concurrency} senders)`, rate.toFixed(0), '>= 5000');
      figures.add(B, 'time to 202, p50', ms(s.p50, 2));
      figures.add(B, 'time to 202, p99', ms(s.p99, 2), '< 20 ms');
      figures.add(B, 'time to 202, max', ms(s.max, 2));
      figures.add(B, 'answers other than 202', String(badCount), '0', badCount ? JSON.stringify(Object.fromEntries(timed.bad)) : undefined);
      if (commits0 !== undefined && commits1 !== undefined) {
        const n = commits1 - commits0;
        figures.add(B, 'store commits during the run', String(n), undefined, `${(opts.count / Math.max(1, n)).toFixed(1)} alerts a commit (delivery progress shares them)`);
      }
      figures.add(B, 'mailer CPU during the run', `${mailerCpu.toFixed(0)} % of one core`, undefined, `${((mailerCpu / 100) * timed.seconds * 1e6 / opts.count).toFixed(0)} µs of CPU an alert, all threads`);
      figures.add(B, 'load generator CPU during the run', `${senderCpu.toFixed(0)} % of one core`);
      figures.add(B, 'mailer RSS after the run', mb(rss));
      if (machineCpu) figures.add(B, 'machine CPU stolen by the host / idle during the run', `${machineCpu.steal.toFixed(1)} % / ${machineCpu.idle.toFixed(0)} %`, undefined, 'of both cores; a latency figure taken under steal is partly the host\'s other tenants');
      if (durable) {
        const entries = existsSync(store) ? readdirSync(store).length : 0;
        figures.note(B, `the store folder (${fsType}) held ${entries} entries after the run`);
      }
      figures.note(B, `${opts.count} alerts after ${opts.warmup} warm-up; the load generator (one kept-alive connection per sender, prepared requests) shares the 2-core machine with the mailer`);
      await closeConnections();
    } finally {
      await closePool();
      await mailer.stop(5000);
    }
  } finally {
    await removeWork();
  }
}
