/**
 * The built agent (dist/agent.mjs) and the mailer's token, against a fake
 * mailer (test/support/http-receiver.ts): an alert refused with 401 or 403 is
 * kept and retried until the mailer takes it, with one error line; at start
 * one line says what is wrong (a wrong token, a mailer that needs one, a
 * mailer unreachable) and nothing when all is well; the token is never printed.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { type Hit, Receiver } from '../support/http-receiver.ts';
import { freePort, start } from '../support/process.ts';

const TOKEN = 'agent-token-test-0123456789';
let deadPort = 0;

before(async () => {
  deadPort = await freePort();
});

const receivers: Receiver[] = [];
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms}ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * A fake mailer: `check` answers the start-up check (HEAD), `alert(n)` the
 * n-th POST /alerts (from 0); `delivered` resolves at the first 202.
 */
async function fakeMailer(check: number, alert: (n: number) => number) {
  const receiver = new Receiver();
  receivers.push(receiver);
  let posts = 0;
  let done: () => void = () => {};
  const delivered = new Promise<void>((resolve) => (done = resolve));
  const answered: number[] = [];
  receiver.fallback = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'HEAD') {
      res.writeHead(check, { 'content-type': 'application/json' }).end();
      return;
    }
    const code = req.url === '/alerts' ? alert(posts++) : 404;
    if (req.url === '/alerts') answered.push(code);
    res.writeHead(code, { 'content-type': 'application/json' }).end(code === 202 ? '{"id":"x"}' : '{"error":"missing or wrong bearer token"}');
    if (code === 202) done();
  };
  await receiver.listen();
  const port = Number(new URL(receiver.base).port);
  const alerts = (): Hit[] => receiver.hits.filter((h) => h.method === 'POST' && h.path === '/alerts');
  return { receiver, port, delivered, answered, alerts };
}

function agent(mailerPort: number, extra: string[] = []) {
  return start('agent', ['--target', `http://127.0.0.1:${deadPort}/`, '--mailer', `127.0.0.1:${mailerPort}`, '--interval', '200ms', '--report-every', 'off', ...extra]);
}

test('an alert refused with 401, then 403, is kept and retried until the mailer takes it: delivered once, one error line, never the token', async () => {
  const mailer = await fakeMailer(401, (n) => (n === 0 ? 401 : n === 1 ? 403 : 202));
  const a = agent(mailer.port, ['--mailer-token', TOKEN]);
  try {
    await a.waitFor(/^The mailer at 127\.0\.0\.1:\d+ refused our token \(401\): check --mailer-token \(MAILER_TOKEN\); alerts wait and are retried until it is right\.$/m);
    // Refused at once, retried after 0.25-0.5 s and 0.5-1 s (the backoff), taken at the third try.
    await within(mailer.delivered, 5000, 'the alert delivered');
    await a.waitFor(/System down/);
  } finally {
    await a.stop();
  }
  const posts = mailer.alerts();
  assert.deepEqual(mailer.answered, [401, 403, 202], 'refused twice, then taken once');
  const bodies = posts.map((h) => JSON.parse(h.body) as { id: string; status: string });
  assert.equal(new Set(bodies.map((b) => b.id)).size, 1, 'the same alert, the same id, each time');
  assert.equal(bodies[0]?.status, 'down');
  for (const h of posts) assert.equal(h.headers.authorization, `Bearer ${TOKEN}`);
  const out = a.output();
  assert.equal(out.match(/mailer refused the alert \(40[13]/g)?.length, 1, `one error line for two refusals within a minute:\n${out}`);
  assert.match(out, /mailer refused the alert \(401 unauthorized: missing or wrong bearer token\); the mailer did not accept our token: check --mailer-token \(MAILER_TOKEN\); alerts are kept and retried/);
  assert.doesNotMatch(out, /Alert not delivered/);
  assert.ok(!out.includes(TOKEN), 'the token is never printed');
});

test('at start, one line: a mailer that needs a token, or one that cannot be reached; none when the mailer takes us', async () => {
  const needs = await fakeMailer(401, () => 202);
  const fine = await fakeMailer(200, () => 202);
  const unreachablePort = await freePort();
  const [noToken, unreachable, ok] = [agent(needs.port), agent(unreachablePort, ['--mailer-token', TOKEN]), agent(fine.port, ['--mailer-token', TOKEN])];
  try {
    await noToken.waitFor(/^The mailer at 127\.0\.0\.1:\d+ needs a token \(401\): set --mailer-token \(MAILER_TOKEN\); alerts wait and are retried until it is set\.$/m);
    await unreachable.waitFor(/^Mailer unreachable at 127\.0\.0\.1:\d+: connection refused; alerts wait and are retried until it answers\.$/m);
    // The agent goes on: its checks, its alert.
    await noToken.waitFor(/System down: connection refused\./);
    await within(fine.delivered, 5000, 'the alert delivered');
    await ok.waitFor(/System down/);
  } finally {
    await Promise.all([noToken.stop(), unreachable.stop(), ok.stop()]);
  }
  assert.equal(fine.receiver.hits.filter((h) => h.method === 'HEAD').length, 1, 'one check at start');
  assert.equal(fine.receiver.hits.find((h) => h.method === 'HEAD')?.headers.authorization, `Bearer ${TOKEN}`);
  assert.doesNotMatch(ok.output(), /token|unreachable/i, 'nothing to say when the mailer takes us');
  for (const a of [noToken, unreachable, ok]) assert.ok(!a.output().includes(TOKEN), 'the token is never printed');
});
