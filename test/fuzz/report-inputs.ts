/**
 * What the fuzzer throws at `POST /api/v1/reports` (shared/wire-report.ts):
 * agents' reports, valid and broken one field at a time (fast-check records
 * over the report's shape), any JSON value and garbage, sent plain or
 * gzipped, as gzip bombs (a few KB that inflate past REPORT_MAX_BYTES),
 * corrupt gzip, and encodings the mailer does not take. Each is one
 * well-framed request (its Content-Length right), so that its answer is its
 * own: the drive checks it is a 2xx or a 4xx/503 with a JSON `error`.
 * Valid reports name few agents and targets, so that the hub's board stays
 * small over a campaign.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { LATENCY_BUCKETS_MS, REPORT_MAX_BYTES, REPORTS_PATH } from '../../shared/wire-report.ts';

const BUCKETS = LATENCY_BUCKETS_MS.length + 1;
const hostileText = fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('', '\u0000', '\r\n', 'x'.repeat(5000), '🙂\ud800', '__proto__', 'constructor', '"}'));
const anyNumber = fc.oneof(fc.nat(10), fc.integer(), fc.double(), fc.constantFrom(-1, 1e300, Number.MAX_SAFE_INTEGER + 2));

const goodTarget = fc.record({
  name: fc.constantFrom('web', 'db-1', 'http://insideweb:80/', 'tcp://insidemailer:33333'),
  state: fc.constantFrom('up', 'down', 'unknown'),
  checks: fc.constant(3),
  failures: fc.nat(3),
  latency: fc.constant([3, ...Array.from({ length: BUCKETS - 1 }, () => 0)]),
  lastFailure: fc.option(fc.constant('connection refused'), { nil: undefined }),
});

const goodReport = fc.record({
  v: fc.constant(1),
  agent: fc.record({ name: fc.constantFrom('fuzz-a', 'fuzz-b'), instance: fc.constantFrom('fuzz0001instance', 'fuzz0002instance'), version: fc.constant('0.0.0-fuzz') }),
  sentAt: fc.constant('2026-12-07T10:00:00.000Z'),
  intervalMs: fc.constant(10_000),
  targets: fc.uniqueArray(goodTarget, { maxLength: 4, selector: (t) => t.name }),
});

/** A field of the report (or of its agent, or of a target) replaced by something hostile, or removed, or one added. */
const brokenReport = fc
  .tuple(goodReport, fc.constantFrom('v', 'agent', 'agent.name', 'agent.instance', 'agent.version', 'sentAt', 'intervalMs', 'goodbye', 'targets', 'target.name', 'target.state', 'target.checks', 'target.failures', 'target.latency', 'target.lastFailure', 'extra'), fc.oneof(hostileText, anyNumber, fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)))
  .map(([report, field, value]) => {
    const r = JSON.parse(JSON.stringify(report)) as Record<string, unknown> & { agent: Record<string, unknown>; targets: Record<string, unknown>[] };
    const [head, tail] = field.split('.') as [string, string | undefined];
    const into = head === 'agent' && tail ? r.agent : head === 'target' && tail ? (r.targets[0] ??= {}) : r;
    (into as Record<string, unknown>)[tail ?? (head === 'extra' ? 'surprise' : head)] = value;
    return r;
  });

const manyTargets = fc.integer({ min: 10_001, max: 10_050 }).map((n) => ({ v: 1, agent: { name: 'fuzz-c', instance: 'fuzz0003instance', version: '0' }, sentAt: '2026-12-07T10:00:00.000Z', intervalMs: 10_000, targets: Array.from({ length: n }, () => 0) }));

const json = fc.oneof(
  { arbitrary: goodReport.map((r) => JSON.stringify(r)), weight: 3 },
  { arbitrary: brokenReport.map((r) => JSON.stringify(r) ?? ''), weight: 6 },
  { arbitrary: manyTargets.map((r) => JSON.stringify(r)), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ''), weight: 2 },
  { arbitrary: fc.string({ maxLength: 300 }), weight: 1 },
  { arbitrary: fc.constantFrom('{"v":1,"targets":' + '['.repeat(5000), '{"v":1,"agent":{"name":"' + 'a'.repeat(100_000) + '"}}'), weight: 1 },
).map((s) => Buffer.from(s, 'utf8'));

let bombs: Buffer[] | undefined;
/** Gzip bombs: zeros, and a report padded with spaces, inflating past REPORT_MAX_BYTES (made once). */
function gzipBombs(): Buffer[] {
  bombs ??= [gzipSync(Buffer.alloc(REPORT_MAX_BYTES * 4), { level: 9 }), gzipSync(Buffer.concat([Buffer.from('{"v":1,"targets":[]'), Buffer.alloc(REPORT_MAX_BYTES + 1, 0x20), Buffer.from('}')]), { level: 9 })];
  return bombs;
}

const encoded = fc.oneof(
  { arbitrary: json.map((body) => ({ body, coding: undefined as string | undefined })), weight: 6 },
  { arbitrary: json.map((body) => ({ body: gzipSync(body), coding: 'gzip' })), weight: 3 },
  { arbitrary: fc.nat(1).map((i) => ({ body: gzipBombs()[i]!, coding: 'gzip' })), weight: 1 },
  { arbitrary: fc.tuple(json, fc.nat(), fc.nat({ max: 20 })).map(([b, at, cut]) => { const g = Buffer.from(gzipSync(b)); g[at % g.length]! ^= 0x5a; return { body: g.subarray(0, Math.max(1, g.length - cut)), coding: 'gzip' }; }), weight: 2 },
  { arbitrary: fc.tuple(json, fc.constantFrom('deflate', 'br', 'gzip, gzip', 'identity', 'x-gzip', 'GZIP', 'compress', '')).map(([body, coding]) => ({ body: coding.toLowerCase().includes('gzip') ? gzipSync(body) : body, coding })), weight: 2 },
);

/** One request to POST /api/v1/reports: the bytes of its connection. */
export const reportRequest: fc.Arbitrary<Buffer> = fc
  .tuple(encoded, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', undefined))
  .map(([{ body, coding }, type]) => {
    const headers = ['host: mailer', `content-length: ${body.length}`, ...(type ? [`content-type: ${type}`] : []), ...(coding !== undefined ? [`content-encoding: ${coding}`] : []), 'connection: close'];
    return Buffer.concat([Buffer.from(`POST ${REPORTS_PATH} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  });

/** Whether an answer to a report request is clear: a 2xx, or a 4xx or 503 whose JSON body names the error. */
export function clearAnswer(answer: string): boolean {
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
  if (status === undefined) return false;
  if (status.startsWith('2')) return true;
  if (!status.startsWith('4') && status !== '503') return false;
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' && parsed.error.trim().length > 0 && !/[\r\n]/.test(parsed.error);
  } catch {
    return false;
  }
}
