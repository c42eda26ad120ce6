/**
 * The agent as the image runs it: the esbuild bundle from scripts/build.ts
 * (built into a temporary folder, so dist/ is left alone) and the node flags
 * of docker/agent.Dockerfile's ENTRYPOINT, read from that file so the two
 * never drift apart.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startProcess } from './lib.ts';

/** Build the agent's bundle into `work`/build; returns the path of agent.mjs. */
export async function buildAgentBundle(work: string): Promise<string> {
  const dir = join(work, 'build');
  mkdirSync(dir, { recursive: true });
  for (const entry of ['agent', 'mailer', 'shared', 'node_modules', 'tsconfig.json', 'package.json']) {
    if (existsSync(join(ROOT, entry)) && !existsSync(join(dir, entry))) symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  // scripts/build.ts writes dist/ under its working directory: run it in `dir`.
  const built = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = startProcess('esbuild (scripts/build.ts agent)', process.execPath, [join(ROOT, 'scripts/build.ts'), 'agent'], { cwd: dir });
    void p.exited.then(({ code }) => resolve({ code, out: p.out.tail(20) }));
  });
  const bundle = join(dir, 'dist', 'agent.mjs');
  if (built.code !== 0 || !existsSync(bundle)) throw new Error(`scripts/build.ts agent failed:\n${built.out}`);
  return bundle;
}

/** The node flags in the agent image's ENTRYPOINT, e.g. ["--max-semi-space-size=2"]. */
export function agentNodeFlags(): string[] {
  const text = readFileSync(join(ROOT, 'docker/agent.Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (!line) return [];
  const argv = JSON.parse(line) as string[];
  return argv.slice(1, argv.findIndex((a) => a.endsWith('.mjs'))).filter((a) => a.startsWith('--'));
}

/** argv for node to run the agent as shipped, then `args`. */
export function shippedAgent(bundle: string, args: string[]): string[] {
  return [...agentNodeFlags(), bundle, ...args];
}
