/**
 * npm run bench [-- NAME ...] [options]: the benchmarks of issues 3 and 4.
 * Figures are printed (stdout), never asserted; progress goes to stderr. The
 * summary table is printed last and written to bench/results/latest.md.
 *
 *   intake      the mailer's durable intake: alerts/s and time to 202, 50 senders
 *   detection   docker stop web -> "Sending email", ours against the book's stand-ins
 *   soak        false alerts against a site with 0-300 ms latency (10 minutes)
 *   scale       one agent, K targets at 1 Hz: CPU, RSS, lateness of checks
 *   footprint   image sizes, idle RSS, time to the first check's result
 *   storm       5,000 alerts in one burst through smtp and a chat fake, grouping on;
 *               5,000 targets down at once on one agent, sequential sends against batches
 *   hub         the status hub: report ingestion CPU, the page's times, the store's size
 *   cluster     three mailers on one Postgres beside one on SQLite: intake, deliveries, failover, duplicates
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cluster } from './cluster.ts';
import { detection } from './detection.ts';
import { footprint } from './footprint.ts';
import { hub, HUB_PARTS, type HubPart } from './hub.ts';
import { intake } from './intake.ts';
import { cleanupAll, Figures, isAborted, progress, ROOT, run, sweepContainers } from './lib.ts';
import { loadAverage } from './proc-meters.ts';
import { scale } from './scale.ts';
import { soak } from './soak.ts';
import { storm } from './storm.ts';

const ALL = ['intake', 'detection', 'soak', 'scale', 'footprint', 'storm', 'hub', 'cluster'] as const;
type BenchName = (typeof ALL)[number];

const HELP = `Usage: npm run bench [-- NAME ...] [options]

NAME: ${ALL.join(', ')} or all (default: all, with the issues' parameters)

Options:
  --count N          intake: alerts timed (default 20000)
  --warmup-count N   intake: alerts sent first, not timed (default 2000)
  --concurrency N    intake: concurrent senders and connections (default 50)
  --trials N         detection: trials per side (default 10)
  --minutes M        soak: length in minutes (default 10)
  --targets LIST     scale: target counts, comma-separated (default 100,1000,5000)
  --seconds S        scale: measured window per count (default 30)
  --warmup S         scale: warm-up per count before the window (default 10)
  --samples N        footprint: starts timed for the first result (default 5)
  --alerts N         storm: alerts in the burst (default 5000)
  --storm-targets N  storm: targets of the agent that go down at once (default 5000)
  --storm-agent-only storm: only the agent's storm
  --hub-seconds S    hub: report ingestion window per target count (default 60)
  --hub-days D       hub: simulated days for the store size (default 90)
  --hub-parts LIST   hub: which parts, comma-separated: ingestion, page, store (default all three)
  --cluster-alerts N cluster: alerts in each throughput burst (default 5000)
  --cluster-trials N cluster: SIGKILLs timed for the failover (default 10)
  --out FILE         where the summary goes (default bench/results/latest.md)
  -h, --help         this text
`;

function positiveInt(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`bench: --${name} must be a positive number, not "${value}"\n`);
    process.exit(2);
  }
  return n;
}

function hubParts(value: string | undefined): HubPart[] {
  if (value === undefined) return [...HUB_PARTS];
  const parts = value.split(',').map((p) => p.trim());
  const bad = parts.find((p) => !(HUB_PARTS as readonly string[]).includes(p));
  if (bad !== undefined || parts.length === 0) {
    process.stderr.write(`bench: --hub-parts takes ${HUB_PARTS.join(', ')}, not "${bad ?? value}"\n`);
    process.exit(2);
  }
  return HUB_PARTS.filter((p) => parts.includes(p));
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        count: { type: 'string' },
        'warmup-count': { type: 'string' },
        concurrency: { type: 'string' },
        trials: { type: 'string' },
        minutes: { type: 'string' },
        targets: { type: 'string' },
        seconds: { type: 'string' },
        warmup: { type: 'string' },
        samples: { type: 'string' },
        alerts: { type: 'string' },
        'storm-targets': { type: 'string' },
        'storm-agent-only': { type: 'boolean' },
        'hub-seconds': { type: 'string' },
        'hub-days': { type: 'string' },
        'hub-parts': { type: 'string' },
        'cluster-alerts': { type: 'string' },
        'cluster-trials': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${HELP}`);
    process.exit(2);
  }
})();

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const selected: BenchName[] = [];
for (const p of positionals.flatMap((x) => x.split(','))) {
  if (p === 'all') selected.push(...ALL);
  else if ((ALL as readonly string[]).includes(p)) selected.push(p as BenchName);
  else {
    process.stderr.write(`bench: unknown benchmark "${p}" (one of: ${ALL.join(', ')}, all)\n`);
    process.exit(2);
  }
}
const benches = selected.length ? ALL.filter((b) => selected.includes(b)) : [...ALL];

const targets = (values.targets ?? '100,1000,5000').split(',').map((t) => positiveInt('targets', t.trim(), 0));
const opts = {
  intake: {
    count: positiveInt('count', values.count, 20_000),
    warmup: positiveInt('warmup-count', values['warmup-count'], 2_000),
    concurrency: positiveInt('concurrency', values.concurrency, 50),
  },
  detection: { trials: positiveInt('trials', values.trials, 10) },
  soak: { minutes: positiveInt('minutes', values.minutes, 10) },
  scale: { targets, seconds: positiveInt('seconds', values.seconds, 30), warmup: positiveInt('warmup', values.warmup, 10) },
  footprint: { samples: positiveInt('samples', values.samples, 5) },
  storm: {
    alerts: positiveInt('alerts', values.alerts, 5000),
    concurrency: positiveInt('concurrency', values.concurrency, 50),
    targets: positiveInt('storm-targets', values['storm-targets'], 5000),
    agentOnly: values['storm-agent-only'] === true,
  },
  hub: { seconds: positiveInt('hub-seconds', values['hub-seconds'], 60), days: positiveInt('hub-days', values['hub-days'], 90), parts: hubParts(values['hub-parts']) },
  cluster: {
    alerts: positiveInt('cluster-alerts', values['cluster-alerts'], 5000),
    concurrency: positiveInt('concurrency', values.concurrency, 50),
    trials: positiveInt('cluster-trials', values['cluster-trials'], 10),
  },
};
const outFile = values.out ?? join(ROOT, 'bench', 'results', 'latest.md');

const figures = new Figures();
const started = new Date();
const loadBefore = loadAverage();
const commit = (await run('git', ['rev-parse', '--short', 'HEAD'], 10_000)).stdout.trim() || 'unknown';
const dirty = (await run('git', ['status', '--porcelain', '--', 'agent', 'mailer', 'shared', 'docker'], 10_000)).stdout.trim() ? ' (with uncommitted changes)' : '';
let failed = 0;

for (const name of benches) {
  if (isAborted()) break;
  progress(name, 'start');
  const t0 = performance.now();
  try {
    switch (name) {
      case 'intake':
        await intake(figures, opts.intake);
        break;
      case 'detection':
        await detection(figures, opts.detection);
        break;
      case 'soak':
        await soak(figures, opts.soak);
        break;
      case 'scale':
        await scale(figures, opts.scale);
        break;
      case 'footprint':
        await footprint(figures, opts.footprint);
        break;
      case 'storm':
        await storm(figures, opts.storm);
        break;
      case 'hub':
        await hub(figures, opts.hub);
        break;
      case 'cluster':
        await cluster(figures, opts.cluster);
        break;
    }
  } catch (err) {
    if (isAborted()) break;
    failed++;
    figures.add(name, 'error', (err as Error).message.split('\n')[0] ?? 'error');
    process.stderr.write(`bench ${name}: ${(err as Error).stack ?? err}\n`);
  } finally {
    await cleanupAll();
    await sweepContainers();
  }
  progress(name, `done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

// The signal handler (bench/lib.ts) cleans up and exits 130: wait for it.
if (isAborted()) await new Promise(() => setTimeout(() => process.exit(130), 120_000));

// ---------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------

const cell = (s: string | undefined): string => (s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const lines: string[] = [];
lines.push(`# ch2 benchmarks`);
lines.push('');
lines.push(`- date: ${started.toISOString()}`);
lines.push(`- machine: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`);
lines.push(`- node ${process.version}; commit ${commit}${dirty}`);
lines.push(`- ran: ${benches.join(', ')}; arguments: ${process.argv.slice(2).join(' ') || '(none)'}`);
lines.push(`- load average before: ${loadBefore}; after: ${loadAverage()}`);
lines.push('');
lines.push('| benchmark | figure | value | goal | note |');
lines.push('|---|---|---|---|---|');
for (const r of figures.rows) lines.push(`| ${cell(r.bench)} | ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.goal)} | ${cell(r.note)} |`);
if (figures.notes.length) {
  lines.push('');
  lines.push('Notes:');
  lines.push('');
  for (const n of figures.notes) lines.push(`- ${n}`);
}
const summary = `${lines.join('\n')}\n`;
process.stdout.write(`\n${summary}`);
try {
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(outFile, summary);
  progress('bench', `summary written to ${outFile}`);
} catch (err) {
  process.stderr.write(`bench: cannot write ${outFile}: ${(err as Error).message}\n`);
}
process.exit(failed ? 1 : 0);
