/** The agent's metrics registry (agent/metrics.ts) and its HTTP server (agent/metrics-server.ts), on loopback. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { LATENCY_BUCKETS_SECONDS, Metrics } from '../../agent/output/metrics.ts';
import { escapeLabelValue, formatNumber } from '../../agent/output/prom-text.ts';
import { METRICS_CONTENT_TYPE, MetricsServerError, startMetricsServer } from '../../agent/output/metrics-server.ts';
import { type AgentEvents, fanOut } from '../../agent/events.ts';
import type { Alert } from '../../shared/alert.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Parsed {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*)?\\})? (\\S+)$`);

/** A strict parser of the text format 0.0.4: every line must be HELP, TYPE or a well-formed sample of a declared family. */
function parse(text: string): Parsed {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      const map = kind === 'TYPE' ? types : help;
      assert.ok(!map.has(name), `one ${kind} line for ${name}`);
      if (kind === 'TYPE') {
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
        assert.ok(!samples.some((s) => family(s.name, types) === name), `TYPE of ${name} comes before its samples`);
      }
      map.set(name, rest);
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    assert.ok(m, `well-formed sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (labelText) {
      for (const lm of labelText.matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)=(${LABEL_VALUE})`, 'g'))) {
        labels[lm[1]!] = lm[2]!.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    assert.ok(valueText === 'NaN' || !Number.isNaN(value), `numeric value in ${line}`);
    assert.ok(family(name, types), `sample ${name} belongs to a declared family`);
    samples.push({ name, labels, value });
  }
  return { types, help, samples };
}

function family(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(base) === 'histogram' ? base : undefined;
}

/** One check, as the monitor reports it (the production path: metrics.events). */
function check(m: Metrics, target: string, ok: boolean, latencyMs: number, at = Date.now()): void {
  m.events.check(target, { ok, latencyMs, at });
}

function value(parsed: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  return parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('an empty registry renders valid text with every family declared', () => {
  const parsed = parse(new Metrics().render());
  for (const [name, type] of [
    ['ch2_target_up', 'gauge'],
    ['ch2_check_duration_seconds', 'histogram'],
    ['ch2_checks_total', 'counter'],
    ['ch2_target_last_check_timestamp_seconds', 'gauge'],
    ['ch2_alerts_total', 'counter'],
    ['ch2_checks_skipped_total', 'counter'],
    ['ch2_alerts_pending', 'gauge'],
    ['ch2_alerts_delivered_total', 'counter'],
    ['ch2_alerts_failed_total', 'counter'],
    ['ch2_alerts_dropped_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_cpu_seconds_total', 'counter'],
    ['process_start_time_seconds', 'gauge'],
  ]) {
    assert.equal(parsed.types.get(name!), type, name);
    assert.ok(parsed.help.get(name!), `HELP for ${name}`);
  }
  assert.equal(value(parsed, 'ch2_alerts_pending'), 0);
  assert.equal(value(parsed, 'ch2_checks_skipped_total', { reason: 'no_descriptor' }), 0);
  assert.ok(value(parsed, 'process_resident_memory_bytes')! > 1e6);
  const start = value(parsed, 'process_start_time_seconds')!;
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600);
});

test('checks fill the histogram cumulatively and count ok and fail', () => {
  const m = new Metrics({ processMetrics: false });
  check(m, 'web', true, 3); // 0.003 s: first bucket
  check(m, 'web', true, 5); // exactly 0.005 s: le="0.005" is inclusive
  check(m, 'web', true, 70); // 0.07 s
  check(m, 'web', false, 2000); // 2 s
  check(m, 'web', false, 60_000); // over every bound: only +Inf
  const p = parse(m.render());
  const bucket = (le: string): number | undefined => value(p, 'ch2_check_duration_seconds_bucket', { target: 'web', le });
  assert.equal(bucket('0.005'), 2);
  assert.equal(bucket('0.01'), 2);
  assert.equal(bucket('0.1'), 3);
  assert.equal(bucket('2.5'), 4);
  assert.equal(bucket('10'), 4);
  assert.equal(bucket('+Inf'), 5);
  const les = p.samples.filter((s) => s.name === 'ch2_check_duration_seconds_bucket').map((s) => s.labels.le);
  assert.deepEqual(les, [...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
  assert.equal(value(p, 'ch2_check_duration_seconds_count', { target: 'web' }), 5);
  assert.ok(Math.abs(value(p, 'ch2_check_duration_seconds_sum', { target: 'web' })! - 62.078) < 1e-9);
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'ok' }), 3);
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'fail' }), 2);
  assert.ok(value(p, 'ch2_target_last_check_timestamp_seconds', { target: 'web' })! > 1.6e9);
});

test('target_up: absent before the first check, then up until a transition says otherwise', () => {
  const m = new Metrics({ processMetrics: false });
  m.events.started([{ name: 'web' }]);
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), undefined);
  check(m, 'web', false, 1); // an incident starts up: one failed check is not an outage
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), 1);
  m.events.transition('web', { kind: 'down' });
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), 0);
  check(m, 'web', true, 1); // checks never override the incident state
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), 0);
  m.events.transition('web', { kind: 'up' });
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), 1);
  m.events.transition('web', { kind: 'down' });
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'web' }), 0);
  m.events.transition('db', { kind: 'down' }); // a transition alone registers the target
  assert.equal(value(parse(m.render()), 'ch2_target_up', { target: 'db' }), 0);
});

test('alerts count by status and reminder; pending, delivered, failed and dropped', () => {
  let pendingNow = 4;
  const m = new Metrics({ processMetrics: false, pending: () => pendingNow });
  const ev = m.events;
  ev.transition('web', { kind: 'down' });
  ev.alertQueued({ target: 'web', status: 'down' });
  ev.transition('web', { kind: 'reminder' });
  ev.alertQueued({ target: 'web', status: 'down' });
  ev.alertQueued({ target: 'web', status: 'down' });
  ev.transition('web', { kind: 'up' });
  ev.alertQueued({ target: 'web', status: 'up' });
  for (let i = 0; i < 3; i++) ev.alertDelivered();
  ev.alertFailed();
  ev.alertDropped();
  ev.alertDropped();
  let p = parse(m.render());
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'down', reminder: 'false' }), 1);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'down', reminder: 'true' }), 2);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'up', reminder: 'false' }), 1);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'up', reminder: 'true' }), undefined);
  assert.equal(value(p, 'ch2_alerts_pending'), 4, 'the pending option wins over the derived count');
  assert.equal(value(p, 'ch2_alerts_delivered_total'), 3);
  assert.equal(value(p, 'ch2_alerts_failed_total'), 1);
  assert.equal(value(p, 'ch2_alerts_dropped_total'), 2);
  pendingNow = 0;
  p = parse(m.render());
  assert.equal(value(p, 'ch2_alerts_pending'), 0);
});

test('checks with no verdict count in ch2_checks_skipped_total{reason}, not in the target\'s checks', () => {
  const m = new Metrics({ processMetrics: false });
  m.events.started([{ name: 'web' }]);
  m.events.check('web', { ok: true, latencyMs: 3, at: Date.now() });
  m.events.skipped('web', 'no_descriptor');
  m.events.skipped('db', 'no_descriptor');
  const p = parse(m.render());
  assert.equal(value(p, 'ch2_checks_skipped_total', { reason: 'no_descriptor' }), 2);
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'ok' }), 1);
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'fail' }), 0);
  assert.equal(value(p, 'ch2_check_duration_seconds_count', { target: 'web' }), 1);
  assert.equal(value(p, 'ch2_target_up', { target: 'db' }), undefined, 'a target with only skipped checks has no state');
});

test('fed by the agent events: states, reminders, outcomes and the derived pending count', () => {
  const m = new Metrics({ processMetrics: false });
  // The metrics listener fits the agent's event seam.
  const listener: AgentEvents = m.events;
  const ev = fanOut([listener], (_e, err) => assert.fail(err as Error));
  const alert = (status: 'down' | 'up', to = 'admin@work'): Alert => ({ id: `${status}-${to}`, to, message: 'm', status, target: 'web' });
  ev.started([{ name: 'web', url: 'http://web/', intervalMs: 1000 }, { name: 'db', url: 'tcp://db:5432', intervalMs: 1000 }], 'mailer:33333', 'json');
  let p = parse(m.render());
  assert.deepEqual(
    p.samples.filter((s) => s.name === 'ch2_checks_total' && s.labels.result === 'ok').map((s) => s.labels.target),
    ['web', 'db'],
  );
  assert.equal(value(p, 'ch2_target_up', { target: 'web' }), undefined);

  ev.check('web', { ok: true, latencyMs: 4, at: 1_700_000_000_000 });
  ev.check('db', { ok: true, latencyMs: 1, at: 1_700_000_000_000 });
  ev.check('web', { ok: false, reason: 'connection refused', latencyMs: 1, at: 1_700_000_001_000 });
  p = parse(m.render());
  assert.equal(value(p, 'ch2_target_up', { target: 'web' }), 1, 'one failure under the threshold: still up');
  assert.equal(value(p, 'ch2_target_last_check_timestamp_seconds', { target: 'web' }), 1_700_000_001);

  ev.check('web', { ok: false, reason: 'connection refused', latencyMs: 1, confirm: true, at: 1_700_000_001_100 });
  ev.transition('web', { kind: 'down', at: 1_700_000_001_100, reason: 'connection refused' });
  ev.alertQueued(alert('down'));
  ev.alertQueued(alert('down', 'ops@work'));
  p = parse(m.render());
  assert.equal(value(p, 'ch2_target_up', { target: 'web' }), 0);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'down', reminder: 'false' }), 2, 'one alert per recipient');
  assert.equal(value(p, 'ch2_alerts_pending'), 2);

  ev.alertDelivered(alert('down'));
  ev.check('web', { ok: false, reason: 'connection refused', latencyMs: 1, at: 1_700_000_061_000 });
  ev.transition('web', { kind: 'reminder', at: 1_700_000_061_000, reason: 'connection refused', downForMs: 60_000, count: 1 });
  ev.alertQueued(alert('down'));
  ev.alertFailed(alert('down', 'ops@work'), 'HTTP 403');
  p = parse(m.render());
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'down', reminder: 'true' }), 1);
  assert.equal(value(p, 'ch2_alerts_pending'), 1);

  ev.check('web', { ok: true, latencyMs: 2, at: 1_700_000_062_000 });
  ev.transition('web', { kind: 'up', at: 1_700_000_062_000, downForMs: 61_000 });
  ev.alertQueued(alert('up'));
  ev.alertDropped(alert('down'));
  ev.alertDelivered(alert('up'));
  p = parse(m.render());
  assert.equal(value(p, 'ch2_target_up', { target: 'web' }), 1);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'up', reminder: 'false' }), 1);
  assert.equal(value(p, 'ch2_alerts_total', { target: 'web', status: 'down', reminder: 'true' }), 1, 'the up alert is no reminder');
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'ok' }), 2);
  assert.equal(value(p, 'ch2_checks_total', { target: 'web', result: 'fail' }), 3, 'confirming checks count');
  assert.equal(value(p, 'ch2_alerts_pending'), 0);
  assert.equal(value(p, 'ch2_alerts_delivered_total'), 2);
  assert.equal(value(p, 'ch2_alerts_failed_total'), 1);
  assert.equal(value(p, 'ch2_alerts_dropped_total'), 1);
  ev.stopped();
});

test('chunks() is render() in pieces, each ending a line, one histogram per piece', () => {
  const m = new Metrics({ processMetrics: false });
  for (let i = 0; i < 25; i++) check(m, `t${i}`, true, i);
  const pieces = [...m.chunks(4)];
  assert.equal(pieces.join(''), m.render());
  assert.ok(pieces.length > 6 * 5);
  for (const piece of pieces) {
    assert.ok(piece.endsWith('\n'));
    const counts = piece.match(/_count\{/g)?.length ?? 0;
    const infs = piece.match(/le="\+Inf"/g)?.length ?? 0;
    assert.equal(counts, infs, 'buckets, sum and count of a target stay together');
  }
});

test('label values escape backslash, double quote and line feed', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const m = new Metrics({ processMetrics: false });
  const nasty = 'http://x/?q="1"\\n\nnext} 1\n# TYPE evil counter';
  check(m, nasty, true, 1);
  m.events.transition(nasty, { kind: 'up' });
  const text = m.render();
  const p = parse(text); // no injected line survives the strict parser
  assert.equal(value(p, 'ch2_target_up', { target: nasty }), 1);
  assert.equal(p.types.has('evil'), false);
  assert.ok(text.includes('target="http://x/?q=\\"1\\"\\\\n\\nnext} 1\\n# TYPE evil counter"'));
});

test('numbers use the exposition spellings', () => {
  assert.equal(formatNumber(1), '1');
  assert.equal(formatNumber(0.25), '0.25');
  assert.equal(formatNumber(Infinity), '+Inf');
  assert.equal(formatNumber(-Infinity), '-Inf');
  assert.equal(formatNumber(NaN), 'NaN');
});

test('targets render in the order they were announced', () => {
  const m = new Metrics({ processMetrics: false });
  m.events.started([{ name: 'b' }, { name: 'a' }]);
  check(m, 'c', true, 1);
  m.events.transition('c', { kind: 'up' });
  m.events.alertQueued({ target: 'c', status: 'down' });
  check(m, 'a', true, 1);
  const p = parse(m.render());
  assert.deepEqual(
    p.samples.filter((s) => s.name === 'ch2_checks_total' && s.labels.result === 'ok').map((s) => [s.labels.target, s.value]),
    [['b', 0], ['a', 1], ['c', 1]],
  );
  assert.equal(value(p, 'ch2_alerts_total', { target: 'c', status: 'down', reminder: 'false' }), 1);
});

test('custom buckets must ascend', () => {
  assert.throws(() => new Metrics({ buckets: [1, 0.5] }), RangeError);
  const m = new Metrics({ buckets: [0.1, 1], processMetrics: false });
  check(m, 't', true, 500);
  const les = parse(m.render()).samples.filter((s) => s.name === 'ch2_check_duration_seconds_bucket').map((s) => `${s.labels.le}=${s.value}`);
  assert.deepEqual(les, ['0.1=0', '1=1', '+Inf=1']);
});

test('5,000 targets: linear output, every line valid', () => {
  const m = new Metrics({ processMetrics: false });
  for (let i = 0; i < 5000; i++) {
    const name = `http://10.0.${i >> 8}.${i & 255}:8080/health`;
    check(m, name, i % 7 !== 0, i % 300);
    m.events.transition(name, { kind: i % 7 === 0 ? 'down' : 'up' });
  }
  const p = parse(m.render());
  // Per target: 1 up + 14 histogram (12 buckets, sum, count) + 2 checks + 1 timestamp + 3 alerts = 21;
  // then 1 skipped-checks counter and 4 alert totals.
  assert.equal(p.samples.length, 5000 * 21 + 5);
  assert.equal(p.samples.filter((s) => s.name === 'ch2_target_up' && s.value === 0).length, Math.ceil(5000 / 7));
});

// --- the HTTP server ---

function get(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

test('the server: /metrics, /healthz, HEAD, 404, 405', async () => {
  const metrics = new Metrics();
  check(metrics, 'web', true, 12);
  metrics.events.transition('web', { kind: 'up' });
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, health: () => ({ ok: true, targets: 1 }) });
  try {
    assert.ok(server.port > 0);
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), METRICS_CONTENT_TYPE);
    assert.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
    const p = parse(await res.text());
    assert.equal(value(p, 'ch2_target_up', { target: 'web' }), 1);
    assert.equal(value(p, 'ch2_check_duration_seconds_bucket', { target: 'web', le: '0.025' }), 1);

    const withQuery = await fetch(`http://127.0.0.1:${server.port}/metrics?x=1`);
    assert.equal(withQuery.status, 200);
    await withQuery.arrayBuffer();

    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await health.json(), { ok: true, targets: 1 });

    const head = await get(server.port, '/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], METRICS_CONTENT_TYPE);
    assert.equal(head.body.length, 0);

    const missing = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();

    const post = await get(server.port, '/metrics', { method: 'POST', body: 'x'.repeat(10_000), headers: { 'content-type': 'text/plain' } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(post.headers.connection, 'close');
  } finally {
    await server.close();
  }
});

test('the server: a small exposition goes in one piece, with a content-length', async () => {
  const metrics = new Metrics({ processMetrics: false });
  check(metrics, 'web', true, 1);
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, health: () => ({}) });
  try {
    const res = await get(server.port, '/metrics', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], undefined, 'too small to be worth gzip');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.equal(res.body.toString('utf8'), metrics.render());
  } finally {
    await server.close();
  }
});

test('the server streams 5,000 targets in pieces, gzipped for a scraper that accepts it', async () => {
  const metrics = new Metrics({ processMetrics: false });
  for (let i = 0; i < 5000; i++) check(metrics, `target-${i}`, i % 2 === 0, i % 100);
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics, health: () => ({}) });
  try {
    const plain = await get(server.port, '/metrics');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['transfer-encoding'], 'chunked');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString('utf8'), metrics.render());

    const zipped = await get(server.port, '/metrics', { headers: { 'accept-encoding': 'deflate, gzip;q=0.8' } });
    assert.equal(zipped.status, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length / 5);
    const p = parse(gunzipSync(zipped.body).toString('utf8'));
    assert.equal(value(p, 'ch2_checks_total', { target: 'target-4999', result: 'fail' }), 1);

    const refused = await get(server.port, '/metrics', { headers: { 'accept-encoding': 'gzip;q=0' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.equal(refused.body.length, plain.body.length);

    // fetch (undici) decompresses on its own: what a scraper sees.
    const viaFetch = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal((await viaFetch.text()).length, plain.body.length);
  } finally {
    await server.close();
  }
});

test('the server answers 500 when rendering fails, and keeps serving', async () => {
  const errors: string[] = [];
  let fail = true;
  const server = await startMetricsServer({
    port: 0,
    host: '127.0.0.1',
    metrics: {
      render() {
        if (fail) throw new Error('boom');
        return '# TYPE x gauge\nx 1\n';
      },
    },
    health: () => ({ ok: true }),
    log: { debug() {}, error: (msg) => errors.push(msg) },
  });
  try {
    const bad = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(bad.status, 500);
    await bad.arrayBuffer();
    assert.deepEqual(errors, ['metrics: boom']);
    fail = false;
    const good = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(await good.text(), '# TYPE x gauge\nx 1\n');
  } finally {
    await server.close();
  }
});

test('a failure while streaming cuts the connection and is logged', async () => {
  const errors: string[] = [];
  const server = await startMetricsServer({
    port: 0,
    host: '127.0.0.1',
    metrics: {
      render: () => '',
      *chunks() {
        yield `# TYPE x gauge\n${'x 1\n'.repeat(100_000)}`; // past the size sent whole: streamed
        yield 'x 2\n';
        yield 'x 3\n';
        throw new Error('half way');
      },
    },
    health: () => ({}),
    log: { debug() {}, error: (msg) => errors.push(msg) },
  });
  try {
    await assert.rejects(get(server.port, '/metrics'));
    assert.deepEqual(errors, ['metrics: half way']);
  } finally {
    await server.close();
  }
});

test('a request whose headers never end is answered 408 and closed', async () => {
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics: new Metrics(), health: () => ({}), requestTimeoutMs: 200 });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
  } finally {
    await server.close();
  }
});

test('POST to /healthz is 405 too; a malformed request is 400', async () => {
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics: new Metrics(), health: () => ({ ok: true }) });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
    await res.arrayBuffer();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
  } finally {
    await server.close();
  }
});

test('a port already in use rejects with a clear message', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      startMetricsServer({ port, host: '127.0.0.1', metrics: new Metrics(), health: () => ({}) }),
      (err: unknown) => err instanceof MetricsServerError && err.code === 'EADDRINUSE' && err.message === `metrics: port ${port} already in use`,
    );
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  await assert.rejects(startMetricsServer({ port: 70_000, metrics: new Metrics(), health: () => ({}) }), /port must be an integer from 0 to 65535/);
});

test('close() frees the port and is idempotent', async () => {
  const first = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics: new Metrics(), health: () => ({}) });
  // A kept-alive connection must not hold close() open.
  const res = await fetch(`http://127.0.0.1:${first.port}/healthz`);
  await res.arrayBuffer();
  await Promise.all([first.close(), first.close()]);
  const again = await startMetricsServer({ port: first.port, host: '127.0.0.1', metrics: new Metrics(), health: () => ({}) });
  assert.equal(again.port, first.port);
  await again.close();
  await assert.rejects(fetch(`http://127.0.0.1:${first.port}/healthz`));
});
