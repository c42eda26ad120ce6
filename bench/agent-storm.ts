/**
 * storm, the agent's side (issue 16): one agent with 5,000 targets of one
 * local site; every target goes down at once (the site answers 503 from one
 * moment on), and the agent's 5,000 down alerts go to the mailer
 * (dist/mailer.mjs, a durable store, on loopback). Timed from the agent's
 * own debug lines "Alert … delivered to the mailer" (one per 202): from the
 * first to the last, and from the site going down to the last. Twice: with
 * today's sends (dist/agent.mjs: batches, several in flight) and with the
 * sequential sends of before, an agent bundle built from BEFORE_COMMIT (the
 * last agent that sent one alert per request, each waiting for the last).
 * Each run gets a fresh mailer and store. Figures only, never asserted.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentNodeFlags } from './agent-bundle.ts';
import { type Figures, progress, ROOT, run, sleep, startProcess, waitUntil } from './lib.ts';
import { listenLocal } from './local-servers.ts';

/** The last commit whose agent sent one alert at a time (before the batches of issue 16). */
export const BEFORE_COMMIT = 'e66c635';

const B = 'storm';

/** Build the agent of BEFORE_COMMIT into `work`/before; returns its agent.mjs. */
async function beforeAgent(work: string): Promise<string> {
  const dir = join(work, 'before');
  mkdirSync(dir, { recursive: true });
  const unpacked = await run('sh', ['-c', `git archive ${BEFORE_COMMIT} agent shared scripts package.json tsconfig.json | tar -x -C "$0"`, dir], 60_000);
  if (unpacked.code !== 0) throw new Error(`git archive ${BEFORE_COMMIT}: ${unpacked.stderr.trim()}`);
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const built = await run('sh', ['-c', `cd "$0" && "${process.execPath}" scripts/build.ts agent`, dir], 120_000);
  const bundle = join(dir, 'dist', 'agent.mjs');
  if (built.code !== 0 || !existsSync(bundle)) throw new Error(`building the agent of ${BEFORE_COMMIT} failed: ${(built.stderr || built.stdout).slice(-500)}`);
  return bundle;
}

interface StormRun {
  /** First to last 202, ms. */
  spread: number;
  /** Site down to the last 202, ms. */
  total: number;
  delivered: number;
}

async function oneRun(label: string, bundle: string, targets: number, work: string): Promise<StormRun> {
  let down = false;
  const seen = new Set<string>();
  const site = await listenLocal(`storm site (${label})`, (req, res) => {
    seen.add(req.url ?? '');
    res.writeHead(down ? 503 : 200, { 'content-length': '0' }).end();
  });
  const dir = join(work, label);
  mkdirSync(dir, { recursive: true });
  const mailerLog = join(dir, 'mailer.log');
  const agentLog = join(dir, 'agent.log');
  const mailer = startProcess(`mailer (${label})`, process.execPath, ['dist/mailer.mjs', '--port', '0', '--bind', '127.0.0.1', '--store', join(dir, 'store')], { output: { file: mailerLog } });
  try {
    const port = await waitUntil('the mailer to listen', () => /Listening on 127\.0\.0\.1:(\d+);/.exec(readFileSync(mailerLog, 'utf8'))?.[1], 20_000, 100);
    const config = join(dir, 'targets.json');
    writeFileSync(config, JSON.stringify({ targets: Array.from({ length: targets }, (_, i) => ({ name: `t${i + 1}`, url: `${site.url}/t${i + 1}` })) }));
    const args = [...agentNodeFlags(), bundle, '--config', config, '--mailer', `127.0.0.1:${port}`, '--report-every', 'off', '--log-format', 'json', '--log-level', 'debug'];
    const agent = startProcess(`agent (${label})`, process.execPath, args, { output: { file: agentLog } });
    try {
      await waitUntil(`all ${targets} targets checked`, () => (seen.size >= targets ? true : undefined), 60_000, 200);
      await sleep(3000);
      const t0 = Date.now();
      down = true;
      progress(B, `${label}: ${targets} targets down at once`);
      const times = (): number[] =>
        readFileSync(agentLog, 'utf8')
          .split('\n')
          .filter((l) => l.includes('delivered to the mailer'))
          .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
      const delivered = await waitUntil(`${targets} alerts delivered`, () => {
        const t = times();
        return t.length >= targets ? t : undefined;
      }, 600_000, 500);
      return { spread: Math.max(...delivered) - Math.min(...delivered), total: Math.max(...delivered) - t0, delivered: delivered.length };
    } finally {
      await agent.stop();
    }
  } finally {
    await mailer.stop(5000);
    await site.close();
  }
}

export async function agentStorm(figures: Figures, targets: number, work: string): Promise<void> {
  const before = await beforeAgent(work);
  const after = join(ROOT, 'dist', 'agent.mjs');
  if (!existsSync(after)) throw new Error('no dist/agent.mjs: run node scripts/build.ts first');
  const runs: Array<[string, string, string]> = [
    ['before', before, `sequential sends (agent of ${BEFORE_COMMIT})`],
    ['after', after, 'batches, several in flight (dist/agent.mjs)'],
  ];
  for (const [label, bundle, what] of runs) {
    const r = await oneRun(label, bundle, targets, work);
    figures.add(B, `agent: ${targets} targets down at once, first to last 202, ${what}`, `${(r.spread / 1000).toFixed(2)} s`, undefined, `site down to the last 202: ${(r.total / 1000).toFixed(2)} s; ${r.delivered} delivered`);
  }
  figures.note(B, `agent storm: one agent, ${targets} targets of one local site at the defaults (1 s interval, --failure-threshold 2), all answering 503 from one moment; times from the agent's debug lines, one per 202; a fresh mailer (dist/mailer.mjs, durable store) per run`);
}
