/**
 * The agent's reports to the mailer (POST /api/v1/reports, shared/wire-report.ts),
 * from the built bundle, against a fake mailer (node:http on loopback) and a
 * local site that counts the checks it served.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { freePort, run, start } from '../support/process.ts';
import { tableFlags } from '../support/readme.ts';
import { type AgentReport, REPORTS_PATH, validateReport } from '../../shared/wire-report.ts';

const TOKEN = 'report-test-token-0123456789';

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** Resolves when `ready()` holds, re-tested at each `poke()`; fails after `timeoutMs`. */
function waiter() {
  const waiting = new Set<() => void>();
  return {
    poke: () => {
      for (const w of waiting) w();
    },
    until(ready: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!ready()) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`timed out waiting for ${what}`));
        }, timeoutMs);
        waiting.add(check);
        check();
      });
    },
  };
}

const servers = new Set<Server>();

/** A fake mailer: 202 to /alerts, `reportStatus()` to the reports path; every request kept (gunzipped). */
async function fakeMailer(reportStatus: (n: number) => number = () => 202) {
  const hits: Hit[] = [];
  const w = waiter();
  let reports = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const path = req.url ?? '';
      hits.push({ path, headers: req.headers, body, at: performance.now() });
      const status = path === REPORTS_PATH ? reportStatus(reports++) : path === '/alerts' ? 202 : 404;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 202 ? '{"accepted":true}' : '{"error":"no"}');
      w.poke();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.add(server);
  const reportHits = (): Hit[] => hits.filter((h) => h.path === REPORTS_PATH);
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    reportHits,
    reports: (): AgentReport[] => reportHits().map((h) => JSON.parse(h.body) as AgentReport),
    until: w.until,
  };
}

let site: Server;
let siteUrl = '';
let served = 0;
const siteWaiter = waiter();

before(async () => {
  site = createServer((_req, res) => {
    served += 1;
    res.end('hello');
    siteWaiter.poke();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
});
afterEach(async () => {
  await Promise.all([...servers].map(close));
  servers.clear();
});
after(() => close(site));

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

test('reports every --report-every with the token; exact shape; counts add up to the checks done; a goodbye on SIGTERM', async () => {
  const mailer = await fakeMailer();
  const dead = await freePort();
  const servedBefore = served;
  const agent = start('agent', [
    '--target', siteUrl, '--target', `tcp://127.0.0.1:${dead}`,
    '--mailer', mailer.url, '--mailer-token', TOKEN,
    '--interval', '200ms', '--report-every', '1s', '--agent-name', 'edge-test',
  ]);
  try {
    await mailer.until(() => mailer.reportHits().length >= 3, 'three reports');
    const hits = mailer.reportHits();
    for (const h of hits) {
      assert.equal(h.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.headers['content-encoding'], undefined, 'a small report is not gzipped');
    }
    const gaps = hits.slice(1, 3).map((h, i) => h.at - hits[i]!.at);
    for (const gap of gaps) assert.ok(gap > 700 && gap < 1500, `about one interval between reports: ${gaps}`);
    const reports = mailer.reports();
    for (const r of reports) {
      const parsed = validateReport(r);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.deepEqual(parsed.value, r, 'nothing the mailer would drop');
      assert.equal(r.agent.name, 'edge-test');
      assert.match(r.agent.instance, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(r.agent.instance, reports[0]!.agent.instance, 'one instance id per start');
      assert.equal(r.agent.version, '0.1.0');
      assert.equal(r.intervalMs, 1000);
      assert.equal(r.goodbye, undefined);
      assert.deepEqual(r.targets.map((t) => t.name), [siteUrl, `tcp://127.0.0.1:${dead}`]);
      for (const t of r.targets) assert.equal(sum(t.latency), t.checks, `${t.name}: every check in one bucket`);
    }
    const last = reports.at(-1)!;
    const [up, down] = last.targets;
    assert.deepEqual([up!.state, up!.failures, up!.lastFailure], ['up', 0, undefined]);
    assert.ok(up!.checks >= 3 && up!.checks <= 7, `about 5 checks a second: ${up!.checks}`);
    assert.deepEqual([down!.state, down!.failures === down!.checks, down!.lastFailure], ['down', true, 'connection refused']);
    assert.ok(down!.checks > 0);
  } finally {
    const code = await agent.stop();
    assert.equal(code, 0);
  }
  const all = mailer.reports();
  const goodbye = all.at(-1)!;
  assert.equal(goodbye.goodbye, true, 'the last report says goodbye');
  assert.ok(validateReport(goodbye).ok);
  assert.equal(all.filter((r) => r.goodbye).length, 1);
  // Every report was taken (202): together they count each check the site served
  // (one more if a check was on the wire as the agent stopped: it is not counted).
  const reported = sum(all.map((r) => r.targets[0]!.checks));
  const done = served - servedBefore;
  assert.ok(reported === done || reported === done - 1, `reported ${reported} checks, the site served ${done}`);
  assert.ok(mailer.hits.some((h) => h.path === '/alerts'), 'the down alert still goes at once');
});

test('--report-every off: no reports, no goodbye', async () => {
  const mailer = await fakeMailer();
  const from = served;
  const agent = start('agent', ['--target', siteUrl, '--mailer', mailer.url, '--interval', '200ms', '--report-every', 'off']);
  try {
    // 1.6 s of checks: a report every 1 s would have gone at least once.
    await siteWaiter.until(() => served - from >= 9, 'nine checks');
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  assert.deepEqual(mailer.reportHits(), []);
});

test('--mailer-protocol raw: no reports', async () => {
  const mailer = await fakeMailer();
  const from = served;
  const agent = start('agent', ['--target', siteUrl, '--mailer', mailer.url.replace('http://', ''), '--mailer-protocol', 'raw', '--interval', '200ms'], { REPORT_EVERY: '1s' });
  try {
    await siteWaiter.until(() => served - from >= 9, 'nine checks');
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  assert.deepEqual(mailer.reportHits(), []);
});

test('a mailer that answers 404 to the reports path: one warning, then silence (no goodbye either)', async () => {
  const mailer = await fakeMailer(() => 404);
  const from = served;
  const agent = start('agent', ['--target', siteUrl, '--mailer', mailer.url, '--interval', '200ms'], { REPORT_EVERY: '1s' });
  try {
    await agent.waitFor(/Not sending reports: the mailer at 127\.0\.0\.1:\d+ has no \/api\/v1\/reports \(404: no\)/);
    const at = served;
    // Three intervals more of checks.
    await siteWaiter.until(() => served - at >= 15, 'fifteen more checks');
    assert.ok(served - from >= 15);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  assert.equal(mailer.reportHits().length, 1);
  assert.equal(agent.output().match(/Not sending reports|Report not delivered/g)?.length, 1, agent.output());
});

test('failed reports: one warning a minute; the counts go on adding up until one is taken', async () => {
  const mailer = await fakeMailer((n) => (n < 2 ? 503 : 202));
  const from = served;
  const agent = start('agent', ['--target', siteUrl, '--mailer', mailer.url, '--interval', '200ms', '--report-every', '1s']);
  let took = 0;
  try {
    await agent.waitFor(/Reports reach the mailer at 127\.0\.0\.1:\d+ again\./);
    took = served - from;
  } finally {
    await agent.stop();
  }
  assert.equal(agent.output().match(/Report not delivered: the mailer at 127\.0\.0\.1:\d+ answered 503: no; the next goes in 1s/g)?.length, 1, agent.output());
  const [first, second, third] = mailer.reports().map((r) => r.targets[0]!.checks);
  assert.ok(first! < second! && second! < third!, `each refused report's counts are in the next: ${first}, ${second}, ${third}`);
  assert.ok(third! <= took && third! >= took - 1, `the first report taken counts every check since the start: ${third} of ${took}`);
});

test('many targets: a report over 16 KiB goes gzipped (content-encoding: gzip)', async () => {
  const mailer = await fakeMailer();
  const dir = mkdtempSync(join(tmpdir(), 'ch2-report-'));
  const config = join(dir, 'targets.json');
  writeFileSync(config, JSON.stringify({ targets: Array.from({ length: 200 }, (_, i) => ({ name: `target-number-${i}`, url: `${siteUrl}?t=${i}` })) }));
  const agent = start('agent', ['--config', config, '--mailer', mailer.url, '--interval', '1s', '--report-every', '1s', '--view', 'lines']);
  try {
    await mailer.until(() => mailer.reportHits().length >= 1, 'a report');
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const hit = mailer.reportHits()[0]!;
  assert.equal(hit.headers['content-encoding'], 'gzip');
  assert.ok(hit.body.length > 16 * 1024);
  const parsed = validateReport(JSON.parse(hit.body));
  assert.ok(parsed.ok && parsed.value.targets.length === 200);
});

test('--help and the README agent table list the same flags, the report flags among them', () => {
  const { code, stdout } = run('agent', ['--help']);
  assert.equal(code, 0);
  const help = stdout.replace(/\s+/g, ' ');
  assert.match(help, /--report-every <duration> .*\(default: 10s, env: REPORT_EVERY\)/);
  assert.match(help, /--agent-name <name> .*\(env: AGENT_NAME\)/);
  const flags = tableFlags('## The agent: `ch2/agent`');
  for (const f of flags) assert.ok(help.includes(` ${f} `) || help.includes(` ${f},`), `${f} (README) is not in --help`);
  const options = [...stdout.matchAll(/^ {2}(?:-[A-Za-z], )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help' && f !== '--version');
  for (const f of options) assert.ok(flags.includes(f), `${f} is in no README table`);
});

test('bad report flags: one line, exit 2', () => {
  for (const [args, pattern] of [
    [['--report-every', '100ms'], /--report-every.*from 1s to 1d, or "off"/],
    [['--agent-name', 'caf\u00e9'], /--agent-name.*printable ASCII/],
  ] as const) {
    const r = run('agent', [...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, pattern);
  }
});
