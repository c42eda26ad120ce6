/**
 * footprint (issue 4): what the agent costs.
 *
 * - Image sizes of ch2/agent and ch2/mailer (CH2_IMAGE_TAG, default latest), FROM
 *   scratch since issue 18, beside the old ones on node:24-bookworm-slim, built here
 *   from the Dockerfiles of commit OLD_REF as ch2/<program>:bookworm-slim. Goal: 120 MB.
 * - Start to first check, new beside old: `docker run` to the agent's first
 *   "System up.", and to the mailer's first passing HEALTHCHECK (healthy).
 * - The agent's RSS at idle with one target (a local site), 5 s after its first
 *   check, against a bare `node -e "setInterval(()=>{},1000)"`. The agent runs from
 *   the same esbuild bundle the image ships (scripts/build.ts, built into a temporary
 *   folder). Goal: at most bare Node + 15 MB.
 * - Time from process start to the first check's result (the first "System up."
 *   line), the median of several starts. Goal: within 300 ms.
 * - The same RSS figures inside containers (docker exec cat /proc/1/status), and
 *   the time from `docker run` to the first "System up." there.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_LABEL, defer, docker, dockerOk, type Figures, haveImage, mb, ms, progress, randomTag, removeContainers, ROOT, run, sleep, startProcess, stats, waitUntil } from './lib.ts';
import { countingMailer, listenLocal } from './local-servers.ts';
import { statusBytes, statusBytesOf } from './proc-meters.ts';
import { agentNodeFlags, buildAgentBundle, shippedAgent } from './agent-bundle.ts';

export interface FootprintOptions {
  samples: number;
}

const B = 'footprint';
const IDLE_MS = 5000;
const BARE_NODE = 'setInterval(()=>{},1000)';

/** The last commit whose images ran on node:24-bookworm-slim (216 / 219 MB). */
const OLD_REF = 'fef6b1c';
const TAG = process.env.CH2_IMAGE_TAG ?? 'latest';
const PROGRAMS = ['agent', 'mailer'] as const;
const image = (program: string): string => `ch2/${program}:${TAG}`;
const oldImage = (program: string): string => `ch2/${program}:bookworm-slim`;

async function imageBytes(tag: string): Promise<number> {
  const r = await docker(['image', 'inspect', '-f', '{{.Size}}', tag], 20_000);
  return r.code === 0 ? Number(r.stdout.trim()) : Number.NaN;
}

/** ch2/<program>:bookworm-slim from OLD_REF's Dockerfile and today's sources; undefined if it cannot be built. */
async function buildOld(program: string, work: string): Promise<string | undefined> {
  const tag = oldImage(program);
  if (await haveImage(tag)) return tag;
  let text: string;
  try {
    text = execFileSync('git', ['show', `${OLD_REF}:docker/${program}.Dockerfile`], { cwd: ROOT, encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const file = join(work, `${program}-old.Dockerfile`);
  writeFileSync(file, text);
  progress(B, `building ${tag} from ${OLD_REF}'s docker/${program}.Dockerfile`);
  const r = await run('docker', ['build', '-q', '-t', tag, '-f', file, ROOT], 600_000, { ...process.env, DOCKER_BUILDKIT: '0' });
  return r.code === 0 ? tag : undefined;
}

async function imageSizes(figures: Figures, work: string): Promise<Map<string, string>> {
  const olds = new Map<string, string>();
  for (const program of PROGRAMS) {
    const size = await imageBytes(image(program));
    if (!Number.isFinite(size)) {
      figures.add(B, `${image(program)} image`, 'skipped: not built (npm run images)');
      continue;
    }
    const old = await buildOld(program, work);
    if (old) olds.set(program, old);
    const oldSize = old ? await imageBytes(old) : Number.NaN;
    figures.add(B, `${image(program)} image size`, mb(size), '<= 120 MB', Number.isFinite(oldSize) ? `was ${mb(oldSize)} on node:24-bookworm-slim (${OLD_REF})` : `no old image: ${OLD_REF} not in this clone`);
  }
  return olds;
}

/** `docker run` of `args` to `ready` (polled or awaited), in ms; the container is removed. */
async function startTo(what: string, args: string[], ready: (name: string) => Promise<unknown>): Promise<number> {
  const name = `ch2-bench-${randomTag()}-fp${what}`;
  const remove = defer(`docker rm -f ${name}`, () => removeContainers(name));
  try {
    const t0 = performance.now();
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', name, ...args]);
    await ready(name);
    return performance.now() - t0;
  } finally {
    await remove();
  }
}

async function firstSystemUp(name: string): Promise<void> {
  const logs = startProcess(`docker logs -f ${name}`, 'docker', ['logs', '-f', name]);
  try {
    await logs.out.waitFor(/System up\./, 20_000);
  } finally {
    await logs.stop(2000);
  }
}

async function healthy(name: string): Promise<void> {
  await waitUntil(`${name} healthy`, async () => ((await dockerOk(['inspect', '-f', '{{.State.Health.Status}}', name])).stdout.trim() === 'healthy' ? true : undefined), 60_000, 50);
}

/** Start to first check, new images beside old: the median of `samples` starts each. */
async function startFigures(figures: Figures, opts: FootprintOptions, olds: Map<string, string>): Promise<void> {
  if (!(await haveImage('nginx:latest'))) return;
  const web = `ch2-bench-${randomTag()}-fpsite`;
  const remove = defer(`docker rm -f ${web}`, () => removeContainers(web));
  try {
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', web, 'nginx:latest']);
    for (const [program, what, ready, goal] of [
      ['agent', 'docker run -> first "System up."', firstSystemUp, undefined],
      ['mailer', 'docker run -> healthy (first passing HEALTHCHECK)', healthy, 'about 2 s'],
    ] as const) {
      for (const [label, tag] of [['new', image(program)], ['old', olds.get(program)]] as const) {
        if (!tag || !(await haveImage(tag))) continue;
        const samples = label === 'old' && program === 'mailer' ? Math.min(opts.samples, 2) : opts.samples;
        progress(B, `${tag}: ${what}, ${samples} starts`);
        const args = program === 'agent' ? ['--link', `${web}:insideweb`, tag] : [tag];
        const times: number[] = [];
        for (let i = 0; i < samples; i++) times.push(await startTo(program, args, ready));
        const f = stats(times);
        figures.add(B, `${tag} (${label}): ${what}, median`, ms(f.p50, 0), label === 'new' ? goal : undefined, `min ${ms(f.min, 0)}, max ${ms(f.max, 0)}, ${f.n} starts`);
      }
    }
  } finally {
    await remove();
  }
}

/** RSS of a process IDLE_MS after `ready` resolves. */
async function idleRss(name: string, args: string[], ready: (p: ReturnType<typeof startProcess>) => Promise<unknown>): Promise<number> {
  const p = startProcess(name, process.execPath, args, { keepLines: 200 });
  try {
    await ready(p);
    await sleep(IDLE_MS);
    if (p.child.exitCode !== null) throw new Error(`${name} exited ${p.child.exitCode}:\n${p.out.tail()}`);
    return statusBytes(p.pid);
  } finally {
    await p.stop();
  }
}

async function localFigures(figures: Figures, opts: FootprintOptions, work: string): Promise<void> {
  let bundle: string | undefined;
  try {
    bundle = await buildAgentBundle(work);
  } catch (err) {
    figures.note(B, `could not build the bundle (${(err as Error).message.split('\n')[0]}); the agent runs from its .ts sources`);
  }
  const site = await listenLocal('footprint site', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>ch2</body></html>\n');
  });
  const mailer = await countingMailer();
  try {
    const targetArgs = ['--target', `${site.url}/`, '--mailer', mailer.url];
    const agentArgs = (entry: string): string[] => (entry.endsWith('.mjs') ? shippedAgent(entry, targetArgs) : [entry, ...targetArgs]);
    const entry = bundle ?? 'agent/main.ts';
    const how = bundle ? `bundle with the image's node flags (${agentNodeFlags().join(' ') || 'none'})` : 'from the .ts sources';

    progress(B, `idle RSS: bare node, then the agent (${how}), ${IDLE_MS / 1000} s each`);
    const bare = await idleRss('bare node', ['-e', BARE_NODE], () => sleep(200));
    const agent = await idleRss('agent', agentArgs(entry), (p) => p.out.waitFor(/System up\./, 15_000));
    figures.add(B, 'bare node RSS at idle', mb(bare));
    figures.add(B, `agent RSS at idle, one target (${how})`, `${mb(agent)} = bare + ${mb(agent - bare)}`, '<= bare node + 15 MB');
    if (bundle) {
      const fromSources = await idleRss('agent (.ts)', agentArgs('agent/main.ts'), (p) => p.out.waitFor(/System up\./, 15_000));
      figures.add(B, 'agent RSS at idle, from the .ts sources (for reference)', mb(fromSources));
    }

    progress(B, `time to the first result: ${opts.samples} starts`);
    const firsts: number[] = [];
    const nodeStarts: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const n = startProcess('bare node start', process.execPath, ['-e', 'console.log("ready")']);
      try {
        const line = await n.out.waitFor(/ready/, 10_000);
        nodeStarts.push(line.at - n.spawnedAt);
      } finally {
        await n.stop();
      }
      const p = startProcess('agent start', process.execPath, agentArgs(entry));
      try {
        const line = await p.out.waitFor(/System up\./, 15_000);
        firsts.push(line.at - p.spawnedAt);
      } finally {
        await p.stop();
      }
    }
    const f = stats(firsts);
    const b = stats(nodeStarts);
    figures.add(B, `process start -> first "System up." (${how}), median`, ms(f.p50, 0), '<= 300 ms', `min ${ms(f.min, 0)}, max ${ms(f.max, 0)}, ${f.n} starts`);
    figures.add(B, 'bare node start -> first line, median (for reference)', ms(b.p50, 0));
    if (mailer.alerts.length) figures.note(B, `the agent sent ${mailer.alerts.length} alert(s) to the local mailer during the footprint runs`);
  } finally {
    await mailer.close();
    await site.close();
  }
}

async function containerRss(name: string): Promise<number> {
  const r = await dockerOk(['exec', name, 'cat', '/proc/1/status'], 20_000);
  return statusBytesOf(r.stdout);
}

async function containerFigures(figures: Figures): Promise<void> {
  for (const tag of ['nginx:latest', image('agent')]) {
    if (!(await haveImage(tag))) {
      figures.add(B, 'in containers', `skipped: ${tag} is not built (npm run images)`);
      return;
    }
  }
  const tag = `ch2-bench-${randomTag()}`;
  const web = `${tag}-fpweb`;
  const agent = `${tag}-fpagent`;
  const bare = `${tag}-fpbare`;
  const remove = defer(`docker rm -f ${agent} ${bare} ${web}`, () => removeContainers(agent, bare, web));
  try {
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', web, 'nginx:latest']);
    // Bare node: the agent image's own node, with nothing loaded.
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', bare, '--entrypoint', 'node', image('agent'), '-e', BARE_NODE]);
    // No mailer: with the site up, the agent sends nothing.
    const t0 = performance.now();
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', agent, '--link', `${web}:insideweb`, image('agent')]);
    const logs = startProcess(`docker logs -f ${agent}`, 'docker', ['logs', '-f', agent]);
    try {
      const first = await logs.out.waitFor(/System up\./, 20_000);
      const firstMs = first.at - t0;
      await sleep(IDLE_MS);
      const [agentRss, bareRss] = [await containerRss(agent), await containerRss(bare)];
      const statsOut = await docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', agent, bare], 30_000);
      figures.add(B, 'in a container: bare node RSS (PID 1)', mb(bareRss));
      figures.add(B, 'in a container: ch2/agent RSS (PID 1), one target', `${mb(agentRss)} = bare + ${mb(agentRss - bareRss)}`, '<= bare node + 15 MB');
      figures.add(B, 'in a container: docker run -> first "System up."', ms(firstMs, 0), undefined, 'includes creating and starting the container');
      if (statsOut.code === 0) {
        figures.note(B, `docker stats memory: ${statsOut.stdout.trim().split('\n').map((l) => l.replace(`${tag}-`, '')).join('; ')}`);
      }
    } finally {
      await logs.stop(2000);
    }
  } finally {
    await remove();
  }
}

export async function footprint(figures: Figures, opts: FootprintOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-footprint-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    const olds = await imageSizes(figures, work);
    await startFigures(figures, opts, olds);
    await localFigures(figures, opts, work);
  } finally {
    await removeWork();
  }
  await containerFigures(figures);
}
