/**
 * The hub's routes on the HTTP intake, in this process: POST /api/v1/reports
 * (plain and gzip; a gzip bomb is a 413 without inflating it whole, bad gzip
 * and bad reports are 400s with one-line reasons, another encoding a 415, a
 * declared body over REPORT_MAX_BYTES a 413), GET /api/v1/agents, the token
 * rule, the methods, and no hub: 404.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../shared/logger.ts';
import { LATENCY_BUCKETS_MS, REPORT_MAX_BYTES, type AgentReport } from '../../shared/wire-report.ts';
import type { Admissions } from '../../mailer/intake/admission.ts';
import { createHttpServer } from '../../mailer/http/http-server.ts';
import type { Store } from '../../mailer/store/store.ts';
import type { ReportReceiver } from '../../mailer/hub/report-body.ts';
import type { AgentView } from '../../mailer/hub/agents.ts';

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, output() {}, warn: (m: string) => void warnings.push(m), error() {} };
const admissions = { reject() {} } as unknown as Admissions;
const store = {} as unknown as Store;
const TOKEN = 'tok-0123456789abcdef';

const received: AgentReport[] = [];
const hub: ReportReceiver = {
  report: (r) => void received.push(r),
  agents: (): AgentView[] => received.map((r) => ({ name: r.agent.name, instance: r.agent.instance, version: r.agent.version, lastReportAt: r.sentAt, intervalMs: r.intervalMs, state: 'reporting', targets: r.targets.length })),
};

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(options: { token?: string; hub?: ReportReceiver } = { hub }): Promise<string> {
  const http = createHttpServer({ maxBytes: 65536, idleTimeoutMs: 5000, admissions, store, token: options.token, log, reportsPerSecond: 5, health: () => ({}), hub: options.hub });
  const tcp = createServer((socket) => http.emit('connection', socket));
  servers.push(tcp);
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(tcp.address() as { port: number }).port}`;
}

const report = (name = 'box-1'): AgentReport => ({
  v: 1,
  agent: { name, instance: 'abcdef0123', version: '1.0.0' },
  sentAt: '2026-01-01T00:00:00.000Z',
  intervalMs: 10_000,
  targets: [{ name: 'web', state: 'up', checks: 1, failures: 0, latency: [1, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)] }],
});

async function post(base: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1/reports`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a report is a 202 {"ok": true} and reaches the hub; gzip too', async () => {
  const base = await serve();
  received.length = 0;
  assert.deepEqual(await post(base, JSON.stringify(report('plain'))), { status: 202, json: { ok: true } });
  assert.deepEqual(await post(base, gzipSync(JSON.stringify(report('zipped'))), { 'content-encoding': 'gzip' }), { status: 202, json: { ok: true } });
  assert.deepEqual(received.map((r) => r.agent.name), ['plain', 'zipped']);
});

test('bad reports are 400s with a one-line reason, and are logged', async () => {
  const base = await serve();
  const cases: Array<[string, RegExp]> = [
    ['{nope', /^body is not valid JSON/],
    [JSON.stringify({ ...report(), v: 2 }), /^report version 2 is not supported/],
    [JSON.stringify({ ...report(), extra: 1 }), /^report: unknown field "extra"/],
  ];
  for (const [body, reason] of cases) {
    const answer = await post(base, body);
    assert.equal(answer.status, 400, body);
    assert.match(String(answer.json.error), reason);
    assert.doesNotMatch(String(answer.json.error), /\n/);
  }
  assert.match(warnings.at(-1) ?? '', /Refused POST \/api\/v1\/reports from 127\.0\.0\.1:\d+: report: unknown field "extra"/);
  const badGzip = await post(base, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
  assert.deepEqual(badGzip, { status: 400, json: { error: 'body is not valid gzip' } });
  const brotli = await post(base, JSON.stringify(report()), { 'content-encoding': 'br' });
  assert.equal(brotli.status, 415);
});

test('a gzip bomb (small compressed, over REPORT_MAX_BYTES inflated) is a 413', async () => {
  const base = await serve();
  const bomb = gzipSync(Buffer.alloc(REPORT_MAX_BYTES + 1, 0x20));
  assert.ok(bomb.length < 65536);
  const answer = await post(base, bomb, { 'content-encoding': 'gzip' });
  assert.equal(answer.status, 413);
  assert.match(String(answer.json.error), /once decompressed/);
});

test('a body declared over REPORT_MAX_BYTES is a 413 before it is read', async () => {
  const base = await serve();
  const url = new URL(base);
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/api/v1/reports', headers: { 'content-length': String(REPORT_MAX_BYTES + 1) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.write('{');
  });
  assert.equal(status, 413);
});

test('GET /api/v1/agents lists the agents; other methods are 405s', async () => {
  const base = await serve();
  received.length = 0;
  await post(base, JSON.stringify(report('listed')));
  const res = await fetch(`${base}/api/v1/agents`);
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as AgentView[]).map((a) => a.name), ['listed']);
  assert.equal((await fetch(`${base}/api/v1/agents`, { method: 'POST', body: '{}' })).status, 405);
  assert.equal((await fetch(`${base}/api/v1/reports`)).status, 405);
});

test('with a token, both routes want it', async () => {
  const base = await serve({ token: TOKEN, hub });
  assert.equal((await post(base, JSON.stringify(report()))).status, 401);
  assert.equal((await fetch(`${base}/api/v1/agents`)).status, 401);
  assert.equal((await post(base, JSON.stringify(report()), { authorization: `Bearer ${TOKEN}` })).status, 202);
  assert.equal((await fetch(`${base}/api/v1/agents`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
});

test('without a hub, its paths are 404s', async () => {
  const base = await serve({});
  assert.equal((await post(base, JSON.stringify(report()))).status, 404);
});
