/** Run one of our programs from source on loopback and watch its output. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Running {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  stop: () => Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Start agent/main.ts or mailer/main.ts. A mailer gets a fresh spool folder of
 * its own (removed when it stops) unless the test passes --spool or SPOOL_DIR.
 */
export function start(program: 'agent' | 'mailer', args: string[], env: Record<string, string> = {}): Running {
  const ownSpool =
    program === 'mailer' && env.SPOOL_DIR === undefined && !args.some((a) => a === '--spool' || a.startsWith('--spool='))
      ? mkdtempSync(join(tmpdir(), 'ch2-spool-'))
      : undefined;
  const child = spawn(process.execPath, [`${program}/main.ts`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...(ownSpool ? { SPOOL_DIR: ownSpool } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (ownSpool) rmSync(ownSpool, { recursive: true, force: true });
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    async waitFor(pattern, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > end || child.exitCode !== null) {
          throw new Error(`no ${pattern} in ${program} output within ${timeoutMs}ms:\n${text}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
