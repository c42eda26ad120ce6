/**
 * A storm on the bundles: one agent (dist/agent.mjs) watching N targets of one
 * local site, the real mailer (dist/mailer.mjs) behind a recording proxy. All
 * targets go down at once and come back while their downs are still on the
 * way: the agent sends them in batches (POST /api/v1/alerts, fewer requests
 * than alerts), and the mailer keeps every alert once, each target's down
 * before its up.
 */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ListPage } from '../../mailer/store/store.ts';
import { start, startMailer } from '../support/process.ts';

const N = 200;
const servers: Server[] = [];
const work = mkdtempSync(join(tmpdir(), 'ch2-agent-storm-'));
after(() => {
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Resolves once `ready()` is true, checked every 50 ms; rejects after `ms`. */
async function until(what: string, ready: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(`${N} targets down at once and back: batches, every alert kept once, each target's down before its up`, { timeout: 60_000 }, async () => {
  // The site: 200 or 503 for every /tN; which targets were answered 503 (each makes a down, then an up).
  let down = false;
  const seen = new Set<string>();
  const failed = new Set<string>();
  const site = await listen(
    createServer((req, res) => {
      const name = (req.url ?? '').slice(1);
      seen.add(name);
      if (down) failed.add(name);
      res.writeHead(down ? 503 : 200, { 'content-length': '0' }).end();
    }),
  );
  const mailer = await startMailer(['--status-page', 'off']);
  // The proxy: forwards to the mailer, notes each request's path and how many alerts it carried.
  const requests: Array<{ path: string; alerts: number }> = [];
  const proxy = await listen(
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST') {
          const parsed = JSON.parse(body.toString('utf8')) as unknown;
          requests.push({ path: req.url ?? '', alerts: Array.isArray(parsed) ? parsed.length : 1 });
        }
        const out = request({ host: '127.0.0.1', port: mailer.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on('error', () => res.destroy());
        out.end(body);
      });
    }),
  );
  const config = join(work, 'targets.json');
  writeFileSync(config, JSON.stringify({ targets: Array.from({ length: N }, (_, i) => ({ name: `t${i + 1}`, url: `http://127.0.0.1:${site}/t${i + 1}` })) }));
  const agent = start('agent', ['--config', config, '--mailer', `127.0.0.1:${proxy}`, '--interval', '500ms', '--failure-threshold', '1', '--success-threshold', '1', '--report-every', 'off']);
  const alertsPosted = (): number => requests.reduce((n, r) => n + r.alerts, 0);
  try {
    await until('every target checked', () => seen.size === N, 20_000);
    down = true;
    // Back up while the downs are still on their way.
    await until('the first downs posted', () => alertsPosted() >= N / 4, 20_000);
    down = false;
    const expected = 2 * failed.size;
    const sent = async (): Promise<ListPage> => (await fetch(`http://127.0.0.1:${mailer.port}/alerts?state=sent&limit=1000`)).json() as Promise<ListPage>;
    await until(`${expected} alerts sent by the mailer`, async () => (await sent()).total >= expected, 30_000);
    // A moment for a duplicate or a stray alert to show.
    await new Promise((r) => setTimeout(r, 500));
    const page = await sent();
    assert.equal(page.total, expected, `${failed.size} targets failed: one down and one up each`);
    // Newest first: reversed, the order the mailer took them in.
    const taken = page.alerts.map((a) => a.alert).reverse();
    assert.equal(new Set(taken.map((a) => a.id)).size, taken.length, 'each alert once');
    const perTarget = new Map<string, string[]>();
    for (const a of taken) perTarget.set(a.target!, [...(perTarget.get(a.target!) ?? []), a.status]);
    for (const name of failed) assert.deepEqual(perTarget.get(name), ['down', 'up'], `${name}: ${perTarget.get(name)?.join(' ')}`);
    assert.equal(perTarget.size, failed.size);
    const batches = requests.filter((r) => r.path === '/api/v1/alerts');
    assert.ok(batches.some((r) => r.alerts > 1), `no request carried several alerts (${requests.length} requests, ${batches.length} to /api/v1/alerts)`);
    // Fewer requests than alerts; how many fewer depends on how the checks' failures spread over the interval
    // against the in-flight cap (a batch goes as soon as a slot is free: no added wait), not a fixed ratio.
    assert.ok(requests.length < expected, `${requests.length} requests for ${expected} alerts`);
  } finally {
    await agent.stop();
    await mailer.stop();
  }
});
