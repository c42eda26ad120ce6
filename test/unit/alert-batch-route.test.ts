/**
 * POST /api/v1/alerts in this process, over a real HTTP server, with
 * admissions the test controls: every item is handed on in the order sent,
 * all before any is answered (so they share one group commit), the answer
 * waits for every commit, and items the store could not keep are 503 in a
 * 207 with Retry-After, while the others are 202; with --token, a 401.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { alertBatchRoute } from '../../mailer/http/alert-batch-route.ts';
import { Deadlines } from '../../mailer/http/deadlines.ts';
import type { Admission, Admissions } from '../../mailer/intake/admission.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';

const silent: Logger = { debug() {}, info() {}, output() {}, warn() {}, error() {} };
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** Admissions that note each admit and settle them only when the test says. */
function heldAdmissions() {
  const admitted: string[] = [];
  const held: Array<{ message: string; settle: (fail: boolean) => void }> = [];
  const refusals: string[] = [];
  let arrived: (() => void) | undefined;
  const admissions = {
    admitJson(req: AlertRequest): Promise<Admission> {
      admitted.push(req.message);
      return new Promise<Admission>((resolve, reject) => {
        held.push({ message: req.message, settle: (fail) => (fail ? reject(new Error('disk full')) : resolve({ ok: true, id: `id-${req.message}`, duplicate: false })) });
        arrived?.();
      });
    },
    reject: (_via: string, _peer: string, error: string) => void refusals.push(error),
  } as unknown as Admissions;
  return {
    admissions,
    admitted,
    held,
    refusals,
    async heldAtLeast(n: number): Promise<void> {
      while (held.length < n) await new Promise<void>((r) => (arrived = r));
    },
  };
}

async function serve(admissions: Admissions, token?: string): Promise<number> {
  const deadlines = new Deadlines(5000);
  const server = createServer((req, res) => void alertBatchRoute(req, res, { maxBytes: 65536, idleTimeoutMs: 5000, deadlines, admissions, token, log: silent }, 'peer'));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

test('every item is handed on in order before any is committed; the answer waits for all; store failures are 503 items in a 207 with Retry-After', { timeout: 5000 }, async () => {
  const held = heldAdmissions();
  const port = await serve(held.admissions);
  const answer = fetch(`http://127.0.0.1:${port}/api/v1/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ message: 'a' }, { message: 'b' }, { message: 'c', cc: 'x' }, { message: 'd' }]),
  });
  await held.heldAtLeast(3);
  assert.deepEqual(held.admitted, ['a', 'b', 'd'], 'in the order sent, the invalid one not handed on');
  let answered = false;
  void answer.then(() => (answered = true));
  held.held[0]!.settle(false);
  held.held[2]!.settle(false);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, 'no answer while an item is not committed');
  held.held[1]!.settle(true);
  const res = await answer;
  assert.equal(res.status, 207);
  assert.equal(res.headers.get('retry-after'), '5');
  const body = (await res.json()) as { accepted: number; refused: number; results: Array<Record<string, unknown>> };
  assert.equal(body.accepted, 2);
  assert.equal(body.refused, 2);
  assert.deepEqual(body.results.map((r) => [r.index, r.status]), [[0, 202], [1, 503], [2, 400], [3, 202]]);
  assert.equal(body.results[0]!.id, 'id-a');
  assert.match(String(body.results[2]!.error), /unknown field "cc"/);
  assert.equal(held.refusals.length, 1, 'one refusal line for the batch');
  assert.match(held.refusals[0]!, /^1 of 4 alerts in a batch: item 2: unknown field "cc"$/);
});

test('with --token, a batch without it is a 401 and nothing is handed on', async () => {
  const held = heldAdmissions();
  const port = await serve(held.admissions, 'a-token-of-sixteen-chars');
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`, { method: 'POST', body: JSON.stringify([{ message: 'a' }]) });
  assert.equal(res.status, 401);
  assert.deepEqual(held.admitted, []);
});
