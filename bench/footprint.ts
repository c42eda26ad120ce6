/**
 * footprint (issue 4): what the agent costs.
 *
 * - Image sizes of ch2/agent and ch2/mailer against the runtime image they are
 *   built on (the last FROM of docker/*.Dockerfile). Goal: at most runtime + 5 MB.
 * - The agent's RSS at idle with one target (a local site), 5 s after its first
 *   check, against a bare `node -e "setInterval(()=>{},1000)"`. The agent runs from
 *   the same esbuild bundle the image ships (scripts/build.ts, built into a temporary
 *   folder). Goal: at most bare Node + 15 MB.
 * - Time from process start to the first check's result (the first "System up."
 *   line), the median of several starts. Goal: within 300 ms.
 * - The same RSS figures inside containers (docker exec cat /proc/1/status), and
 *   the time from `docker run` to the first "System up." there.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_LABEL, defer, docker, dockerOk, type Figures, haveImage, mb, ms, progress, randomTag, removeContainers, ROOT, sleep, startProcess, stats } from './lib.ts';
import { countingMailer, listenLocal } from './local-servers.ts';
import { statusBytes, statusBytesOf } from './proc-meters.ts';
import { agentNodeFlags, buildAgentBundle, shippedAgent } from './agent-bundle.ts';

export interface FootprintOptions {
  samples: number;
}

const B = 'footprint';
const IDLE_MS = 5000;
const BARE_NODE = 'setInterval(()=>{},1000)';

/** The runtime base of a Dockerfile: the image of its last FROM. */
function runtimeBase(dockerfile: string): string | undefined {
  const froms = [...readFileSync(join(ROOT, dockerfile), 'utf8').matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]!);
  return froms.at(-1);
}

async function imageBytes(tag: string): Promise<number> {
  const r = await docker(['image', 'inspect', '-f', '{{.Size}}', tag], 20_000);
  return r.code === 0 ? Number(r.stdout.trim()) : Number.NaN;
}

async function imageSizes(figures: Figures): Promise<void> {
  for (const [program, dockerfile] of [
    ['agent', 'docker/agent.Dockerfile'],
    ['mailer', 'docker/mailer.Dockerfile'],
  ] as const) {
    const tag = `ch2/${program}:latest`;
    const base = runtimeBase(dockerfile);
    if (!base) {
      figures.add(B, `${tag} image`, `no FROM in ${dockerfile}`);
      continue;
    }
    const [size, baseSize] = [await imageBytes(tag), await imageBytes(base)];
    if (!Number.isFinite(size) || !Number.isFinite(baseSize)) {
      figures.add(B, `${tag} image`, `skipped: ${!Number.isFinite(size) ? tag : base} is not built (npm run images)`);
      continue;
    }
    figures.add(B, `${tag} image size`, `${mb(size)} = ${base} ${mb(baseSize)} + ${mb(size - baseSize, 2)}`, `<= ${base} + 5 MB`);
  }
  const base = runtimeBase('docker/agent.Dockerfile');
  if (base) {
    const label = await docker(['image', 'inspect', '-f', '{{index .Config.Labels "org.ch2.standin"}}', base], 20_000);
    if (label.code === 0 && label.stdout.trim() === base) {
      figures.note(B, `${base} here is ch2's local stand-in (no registry); the added MB are what counts`);
    }
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
  const base = runtimeBase('docker/agent.Dockerfile') ?? 'node:24-bookworm-slim';
  for (const image of ['nginx:latest', 'ch2/agent:latest', base]) {
    if (!(await haveImage(image))) {
      figures.add(B, 'in containers', `skipped: ${image} is not built (npm run images)`);
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
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', bare, base, 'node', '-e', BARE_NODE]);
    // No mailer: with the site up, the agent sends nothing.
    const t0 = performance.now();
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', agent, '--link', `${web}:insideweb`, 'ch2/agent:latest']);
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
  await imageSizes(figures);
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-footprint-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    await localFigures(figures, opts, work);
  } finally {
    await removeWork();
  }
  await containerFigures(figures);
}
