/**
 * What the fuzzer throws at the mailer's port, as fast-check arbitraries
 * (sampled with a seed, so a run can be repeated): mutated raw messages,
 * malformed HTTP (bad chunking, Content-Length / Transfer-Encoding conflicts,
 * pipelined requests, huge headers, broken request lines), agents' reports
 * (report-inputs.ts) and binary garbage.
 * Each input is the bytes of one connection and how to write them (in pieces,
 * and whether to half-close).
 */
import fc from 'fast-check';
import { reportRequest } from './report-inputs.ts';

export interface FuzzInput {
  kind: string;
  bytes: Buffer;
  /** Where to split the writes (byte offsets). */
  splits: number[];
  /** Half-close after writing (the raw protocol's end of message; HTTP's too, mostly). */
  end: boolean;
}

const RAW_SEEDS = [
  'To: admin@work  Message: The service is down!',
  'To: ops@work  Message: fuzz',
  'To: admin@work Message: x',
  'To: victim@evil.example,a@work  Message: relay',
  'To: "a@work" <victim@evil.example>  Message: relay',
  'To: admin@work  Message: \u00e9\u00e8 \ud83d\ude00 line\r\nBcc: victim@evil.example',
].map((s) => Buffer.from(s, 'utf8'));

const TOKENS = ['To:', 'Message:', '@', ',', ';', '<', '>', '"', '\r\n', '\n', '\u0000', '  ', 'admin@work', 'evil.example', '%', '\\', ':', 'POST ', 'GET ']
  .map((s) => Buffer.from(s, 'utf8'));

type Mutation = (b: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b);
    c[at % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]): Mutation => (b) => {
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), Buffer.from(ins), b.subarray(i)]);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 20 })).map(([at, n]): Mutation => (b) => {
    const i = b.length === 0 ? 0 : at % b.length;
    return Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...TOKENS)).map(([at, token]): Mutation => (b) => {
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), token, b.subarray(i)]);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 4 })).map(([at, times]): Mutation => (b) => {
    const i = b.length === 0 ? 0 : at % b.length;
    return Buffer.concat([b.subarray(0, i), ...Array.from({ length: times + 1 }, () => b.subarray(i))]);
  }),
  fc.integer({ min: 1, max: 70_000 }).map((n): Mutation => (b) => Buffer.concat([b, Buffer.alloc(n, 0x41)])),
);

const mutatedRaw = fc
  .tuple(fc.constantFrom(...RAW_SEEDS), fc.array(mutation, { minLength: 1, maxLength: 5 }))
  .map(([seed, ms]) => ms.reduce<Buffer>((b, m) => m(b), seed));

const alertBody = fc.oneof(
  fc.constant('{"message":"fuzz","to":"admin@work"}'),
  fc.constant('{"message":"fuzz","to":"victim@evil.example,admin@work"}'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
  fc.string({ maxLength: 200 }),
);

const method = fc.constantFrom('POST', 'GET', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH');
const path = fc.constantFrom('/alerts', '/alerts?state=pending', '/alerts?state=dead&limit=1000', '/healthz', '/', '/../../etc/passwd', '*', 'http://x/alerts', '/alerts?state=%ff%00');
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '', 'HTTP/9.9');

function request(m: string, p: string, v: string, headers: string[], body: string): string {
  return `${m} ${p} ${v}\r\n${headers.join('\r\n')}${headers.length > 0 ? '\r\n' : ''}\r\n${body}`;
}

const chunked = fc.tuple(alertBody, fc.constantFrom('ok', 'bad-hex', 'no-crlf', 'no-last', 'huge', 'negative', 'ext', 'trailer')).map(([body, how]) => {
  const size = Buffer.byteLength(body).toString(16);
  switch (how) {
    case 'bad-hex': return `zz\r\n${body}\r\n0\r\n\r\n`;
    case 'no-crlf': return `${size}\r\n${body}0\r\n\r\n`;
    case 'no-last': return `${size}\r\n${body}\r\n`;
    case 'huge': return `ffffffffffffffff\r\n${body}\r\n0\r\n\r\n`;
    case 'negative': return `-1\r\n${body}\r\n0\r\n\r\n`;
    case 'ext': return `${size};${'x'.repeat(5000)}\r\n${body}\r\n0\r\n\r\n`;
    case 'trailer': return `${size}\r\n${body}\r\n0\r\nX-T: ${'y'.repeat(9000)}\r\n\r\n`;
    default: return `${size}\r\n${body}\r\n0\r\n\r\n`;
  }
});

const framing = fc.oneof(
  // Content-Length and Transfer-Encoding together, or either twice, or nonsense.
  fc.tuple(alertBody, fc.constantFrom('cl+te', 'te+cl', 'cl-twice', 'te-twice', 'cl-neg', 'cl-big', 'cl-short', 'te-identity', 'te-obs-fold', 'te-space'))
    .map(([body, how]) => {
      const n = Buffer.byteLength(body);
      const h: Record<string, string[]> = {
        'cl+te': [`content-length: ${n}`, 'transfer-encoding: chunked'],
        'te+cl': ['transfer-encoding: chunked', `content-length: ${n}`],
        'cl-twice': [`content-length: ${n}`, `content-length: ${n + 5}`],
        'te-twice': ['transfer-encoding: chunked', 'transfer-encoding: chunked'],
        'cl-neg': ['content-length: -5'],
        'cl-big': ['content-length: 99999999999999999999'],
        'cl-short': [`content-length: ${Math.max(0, n - 3)}`],
        'te-identity': ['transfer-encoding: identity, chunked'],
        'te-obs-fold': ['transfer-encoding:', ' chunked'],
        'te-space': ['transfer-encoding : chunked'],
      };
      return { headers: h[how] ?? [], body };
    }),
  chunked.map((body) => ({ headers: ['transfer-encoding: chunked'], body })),
);

const hugeHeaders = fc.oneof(
  fc.integer({ min: 1000, max: 200_000 }).map((n) => [`x-big: ${'a'.repeat(n)}`]),
  fc.integer({ min: 100, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => `x-h${i}: v`)),
  fc.constant([`host: ${'h'.repeat(70_000)}`]),
);

const oneRequest = fc.tuple(method, path, version, fc.oneof(framing, hugeHeaders.map((headers) => ({ headers, body: '' }))))
  .map(([m, p, v, { headers, body }]) => request(m, p, v, ['host: mailer', 'content-type: application/json', ...headers], body));

const http = fc.oneof(
  oneRequest,
  // Pipelined: several requests in one write, some well-formed.
  fc.array(fc.oneof(oneRequest, alertBody.map((b) => request('POST', '/alerts', 'HTTP/1.1', ['host: m', `content-length: ${Buffer.byteLength(b)}`], b))), { minLength: 2, maxLength: 20 })
    .map((rs) => rs.join('')),
  // A method, then garbage.
  fc.tuple(method, fc.uint8Array({ maxLength: 200 })).map(([m, g]) => `${m} ${Buffer.from(g).toString('latin1')}`),
).map((s) => Buffer.from(s, 'latin1'));

const garbage = fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b));

export const fuzzInput: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    fc.oneof(
      { arbitrary: mutatedRaw.map((bytes) => ({ kind: 'raw', bytes })), weight: 4 },
      { arbitrary: http.map((bytes) => ({ kind: 'http', bytes })), weight: 4 },
      { arbitrary: garbage.map((bytes) => ({ kind: 'garbage', bytes })), weight: 2 },
      { arbitrary: reportRequest.map((bytes) => ({ kind: 'report', bytes })), weight: 2 },
    ),
    fc.array(fc.nat(), { maxLength: 3 }),
    fc.integer({ min: 0, max: 9 }),
  )
  .map(([{ kind, bytes }, splits, roll]) => ({
    kind,
    bytes,
    splits: [...new Set(splits.map((s) => (bytes.length === 0 ? 0 : s % bytes.length)))].sort((a, b) => a - b),
    end: kind === 'raw' || (roll !== 0 && kind !== 'report'),
  }));

/** `count` inputs from `seed`, in batches (so a long run does not hold them all). */
export function* inputs(seed: number, count: number, batch = 500): Generator<FuzzInput> {
  for (let done = 0, round = 0; done < count; round++) {
    const n = Math.min(batch, count - done);
    for (const input of fc.sample(fuzzInput, { seed: seed + round, numRuns: n })) yield input;
    done += n;
  }
}
