/**
 * The site of the scale benchmark, run as its own process (so its CPU is not the
 * agent's): one HTTP server on 127.0.0.1 that answers GET /t1 ... /tK with 200 at
 * once, over kept-alive connections, and notes when each target's requests arrive.
 *
 * Lateness of a check = gap between two consecutive requests for the same target
 * minus the interval. Driven over IPC by bench/scale.ts:
 *   -> {type: 'listening', port}
 *   <- {type: 'reset'}   start a measuring window (earlier arrivals still give the first gap)
 *   <- {type: 'report'}  -> {type: 'report', ...}
 *
 * Usage: node bench/scale-site.ts --targets K [--interval-ms 1000]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { targets: { type: 'string' }, 'interval-ms': { type: 'string' } } });
const K = Number(values.targets ?? 100);
const INTERVAL = Number(values['interval-ms'] ?? 1000);
if (!process.send) {
  console.error('scale-site: must run with an IPC channel (from bench/scale.ts)');
  process.exit(2);
}

const last = new Float64Array(K + 1); // last arrival per target (0: never)
const inWindow = new Uint32Array(K + 1); // requests per target in the window
let lateness = new Float64Array(1 << 16);
let nLate = 0;
let requests = 0;
let other = 0;
let connections = 0;
let maxConnections = 0;
let windowStart = performance.now();
let cpuStart = process.cpuUsage();
const LOOP_RESOLUTION_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

const BODY = Buffer.from('ok\n');

function record(i: number, now: number): void {
  const prev = last[i]!;
  last[i] = now;
  requests++;
  inWindow[i]!++;
  if (prev === 0) return;
  if (nLate === lateness.length) {
    const bigger = new Float64Array(lateness.length * 2);
    bigger.set(lateness);
    lateness = bigger;
  }
  lateness[nLate++] = now - prev - INTERVAL;
}

const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const now = performance.now();
  const url = req.url ?? '';
  const i = url.startsWith('/t') ? Number(url.slice(2)) : Number.NaN;
  if (Number.isInteger(i) && i >= 1 && i <= K) {
    record(i, now);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length }).end(BODY);
  } else {
    other++;
    res.writeHead(404, { 'content-length': 0 }).end();
  }
});
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.on('connection', (socket) => {
  connections++;
  if (connections > maxConnections) maxConnections = connections;
  socket.on('close', () => connections--);
});

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'reset') {
    nLate = 0;
    requests = 0;
    other = 0;
    inWindow.fill(0);
    maxConnections = connections;
    windowStart = performance.now();
    cpuStart = process.cpuUsage();
    loopDelay.reset();
    loopDelay.enable();
  } else if (msg.type === 'seen') {
    let seen = 0;
    for (let i = 1; i <= K; i++) if (last[i]! > 0) seen++;
    process.send!({ type: 'seen', seen });
  } else if (msg.type === 'report') {
    const now = performance.now();
    const seconds = (now - windowStart) / 1000;
    const sorted = lateness.slice(0, nLate).sort();
    let checked = 0;
    let never = 0;
    let maxOpen = 0;
    for (let i = 1; i <= K; i++) {
      if (inWindow[i]! > 0) checked++;
      if (last[i] === 0) never++;
      else maxOpen = Math.max(maxOpen, now - last[i]!);
    }
    const cpu = process.cpuUsage(cpuStart);
    process.send!({
      type: 'report',
      seconds,
      requests,
      other,
      ratePerSecond: requests / seconds,
      gaps: nLate,
      lateness: { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99), max: pct(sorted, 100), min: pct(sorted, 0) },
      targetsChecked: checked,
      targetsNever: never,
      maxOpenGapMs: maxOpen,
      connections,
      maxConnections,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100,
      // The histogram holds the timer's whole period: what exceeds the resolution is delay.
      loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'listening', port: (server.address() as AddressInfo).port });
});
