/**
 * The built agent (dist/agent.mjs) against misbehaving loopback servers: an
 * endless body, endless headers, a byte a second, a reset mid-body, a
 * redirect loop, bad chunking. Each check fails within --timeout (read from
 * the check's latencyMs in the JSON logs) with a clear one-line reason, and
 * the agent's memory (VmRSS from /proc/<pid>/status) stays bounded. Both
 * HTTP backends: node:http (one target) and undici (20 targets at 100 ms:
 * 200 checks a second, where the agent switches to undici).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { startBundle } from '../support/bundle.ts';

const TIMEOUT_MS = 1000;
/** A check's own bookkeeping beyond its timeout: timers fire late on a busy CI machine. */
const LATE_MS = 150;
/** The agent idles at ~50 MB (undici ~25 MB more); a check keeps at most 1 MiB of a body, with its copies and socket buffers a few MiB. */
const rssLimitBytes = (targets: number): number => (110 + 4 * targets) * 1024 * 1024;

type Behaviour = (socket: Socket, requests: () => number) => void;

interface Case {
  name: string;
  behaviour: Behaviour;
  args?: string[];
  reason: RegExp;
  /** Keep the agent this long and sample its memory (an endless body). */
  soakMs?: number;
}

function endlessBody(socket: Socket): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', pump);
  pump();
}

const CASES: Case[] = [
  {
    name: 'an endless body (a keyword to find)',
    behaviour: endlessBody,
    args: ['--body-contains', 'Welcome'],
    reason: /^body does not contain "Welcome"$/,
    soakMs: 3000,
  },
  {
    name: 'endless headers',
    behaviour: (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const line = Buffer.from(`X-Junk: ${'j'.repeat(1000)}\r\n`);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(line));
      };
      socket.on('drain', pump);
      pump();
    },
    reason: /^bad HTTP answer: headers larger than \d+ KiB$/,
    soakMs: 2000,
  },
  {
    name: 'a byte a second',
    behaviour: (socket) => {
      const text = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || i >= text.length) return clearInterval(timer);
        socket.write(text[i++]!);
      }, 1000);
      socket.on('close', () => clearInterval(timer));
    },
    reason: new RegExp(`^timeout after ${TIMEOUT_MS}ms$`),
  },
  {
    name: 'a reset mid-body',
    behaviour: (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`, () => setTimeout(() => socket.resetAndDestroy(), 20));
    },
    reason: /^connection (reset|closed by the server)$/,
  },
  {
    name: 'a redirect loop (not followed: one request per check)',
    behaviour: (socket) => {
      socket.write('HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n');
    },
    args: ['--expect-status', '200'],
    reason: /^HTTP 302$/,
  },
  {
    name: 'bad chunking',
    behaviour: (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot a chunk\r\n');
    },
    reason: /^bad HTTP answer: invalid character in chunk size$/,
  },
];

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const BACKENDS = [
  { backend: 'node:http', targets: 1 },
  { backend: 'undici', targets: 20 },
] as const;

for (const { backend, targets } of BACKENDS)
for (const c of CASES) {
  test(`hostile server (${backend}): ${c.name} fails each check within --timeout with a one-line reason, memory bounded`, async (t) => {
    let requests = 0;
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
      // Answer each request once its request line and headers are in (a kept-alive
      // connection carries the next check's request: the redirect's).
      let head = '';
      socket.on('data', (b: Buffer) => {
        head += b.toString('latin1');
        let end: number;
        while ((end = head.indexOf('\r\n\r\n')) >= 0) {
          head = head.slice(end + 4);
          requests += 1;
          c.behaviour(socket, () => requests);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'ch2-hostile-'));
    const config = join(dir, 'targets.json');
    writeFileSync(config, JSON.stringify({ targets: Array.from({ length: targets }, (_, i) => ({ name: `t${i}`, url: `http://127.0.0.1:${port}/?t=${i}` })) }));
    const agent = startBundle('agent', [
      ...(targets === 1 ? ['--target', `http://127.0.0.1:${port}/`, '--interval', '500ms'] : ['--config', config, '--interval', '100ms', '--view', 'lines', '--log-level', 'debug']),
      '--timeout', `${TIMEOUT_MS}ms`,
      '--mailer', '127.0.0.1:1',
      '--log-format', 'json',
      ...(c.args ?? []),
    ]);
    let peakRss = 0;
    try {
      // Every target down: each has had its failed check and the confirming one.
      const deadline = Date.now() + 10_000;
      while ((agent.stdout().match(/"event":"alert"/g)?.length ?? 0) < targets) {
        if (Date.now() > deadline || agent.child.exitCode !== null) assert.fail(`not every target went down: ${agent.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const until = Date.now() + (c.soakMs ?? 0);
      while (Date.now() < until) {
        peakRss = Math.max(peakRss, rssBytes(agent.child.pid!));
        await new Promise((r) => setTimeout(r, 200));
      }
      peakRss = Math.max(peakRss, rssBytes(agent.child.pid!));
    } finally {
      await agent.stop();
      for (const s of sockets) s.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const checks = agent
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"event":"check"'))
      .map((l) => JSON.parse(l) as { ok: boolean; reason?: string; latencyMs: number });
    assert.ok(checks.length >= 2 * targets, `at least the failed check and its confirmation per target: ${agent.output().slice(0, 2000)}`);
    for (const check of checks) {
      assert.equal(check.ok, false, `every check fails: ${JSON.stringify(check)}`);
      assert.match(check.reason ?? '', c.reason);
      assert.ok(check.latencyMs <= TIMEOUT_MS + LATE_MS, `within --timeout: ${check.latencyMs} ms`);
    }
    assert.ok(requests <= checks.length + targets, `one request per check, no redirect followed: ${requests} requests for ${checks.length} checks`);
    t.diagnostic(`peak RSS ${Math.round(peakRss / 1048576)} MB`);
    assert.ok(peakRss > 0 && peakRss < rssLimitBytes(targets), `RSS ${Math.round(peakRss / 1048576)} MB`);
    assert.equal(agent.stderr().split('\n').filter((l) => l && !l.includes('mailer unreachable')).length, 0, agent.stderr());
  });
}
