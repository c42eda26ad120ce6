/** The mailer process on loopback: one port, both protocols, bad input, and it keeps going. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { type Running, startMailer } from '../support/process.ts';

let mailer: Running;
let port = 0;

const IDLE_MS = 300;
/** How late a timer-driven close may come on a loaded CI machine: one more timeout plus scheduling slack. */
const closedBy = (ms: number): number => 2 * ms + 200;

before(async () => {
  const started = await startMailer(['--idle-timeout', `${IDLE_MS}ms`, '--to', 'admin@work,*@ops.test']);
  mailer = started;
  port = started.port;
});
// The mailer is shared: each test looks only at what it printed during that test.
beforeEach(() => mailer.mark());
after(async () => {
  await mailer.stop();
});

/** Send bytes in pieces, close, and collect the answer. */
function tcp(pieces: Array<string | Buffer>, gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(answer) : reject(err)));
    socket.on('close', () => resolve(answer));
    socket.on('connect', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      socket.end();
    });
  });
}

async function post(body: string, path = '/alerts'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test("the book's raw text is logged with its spacing", async () => {
  await tcp(['To: admin@work  Message: The service is down!']);
  await mailer.waitFor(/^Sending email: To: admin@work  Message: The service is down!$/m);
});

test('raw text that arrives in pieces is one message', async () => {
  await tcp(['To: admin@work', '  Message: in ', 'pieces'], 30);
  await mailer.waitFor(/^Sending email: To: admin@work  Message: in pieces$/m);
});

test('JSON over HTTP is accepted with 202 and an id, and logged with single spaces', async () => {
  const { status, json } = await post(JSON.stringify({ message: 'Checkout is slow', to: 'pager@ops.test', target: 'http://shop/' }));
  assert.equal(status, 202);
  assert.equal(typeof json.id, 'string');
  await mailer.waitFor(/^Sending email: To: pager@ops\.test Message: Checkout is slow$/m);
});

test('an HTTP request whose method arrives split is still HTTP', async () => {
  const body = JSON.stringify({ message: 'split method' });
  const answer = await tcp(['PO', `ST /alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`], 30);
  assert.match(answer, /^HTTP\/1\.1 202/);
  await mailer.waitFor(/Sending email: To: admin@work Message: split method/);
});

test('a known id is acknowledged and not sent twice', async () => {
  const body = JSON.stringify({ message: 'only once please', id: 'dup-test-1' });
  const first = await post(body);
  const second = await post(body);
  assert.equal(first.status, 202);
  assert.equal(second.status, 202);
  assert.equal(second.json.duplicate, true);
  await mailer.waitFor(/already accepted/);
  assert.equal(mailer.output().match(/Message: only once please/g)?.length, 1);
});

test('bad input gets a clear answer and the mailer keeps going', async () => {
  const bad = await post('{"message":');
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /not valid JSON/);
  const unknown = await fetch(`http://127.0.0.1:${port}/nope`);
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const refused = await post(JSON.stringify({ message: 'spam', to: 'victim@elsewhere.test' }));
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.error), /allowlist/);
  const huge = await fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', body: 'x'.repeat(70_000) });
  assert.equal(huge.status, 413);
  await huge.body?.cancel();
  await tcp([Buffer.alloc(70_000, 0x41)]);
  await tcp([Buffer.from([0xff, 0xfe, 0x00, 0x07])]);
  await tcp([]);
  await mailer.waitFor(/Refused raw alert .*over the 65536-byte limit/);
  await mailer.waitFor(/Refused raw alert .*not valid UTF-8/);
  await mailer.waitFor(/Refused json alert .*victim@elsewhere\.test is not on the allowlist/);
  await tcp(['To: admin@work  Message: still alive']);
  await mailer.waitFor(/Sending email: To: admin@work  Message: still alive/);
  assert.doesNotMatch(mailer.output(), /victim@elsewhere\.test Message/);
});

test('an idle connection is closed; a raw sender that never closes still has its message taken', async () => {
  const started = Date.now();
  const answer = await new Promise<number>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('close', () => resolve(Date.now() - started));
    socket.on('error', () => {});
  });
  assert.ok(answer >= IDLE_MS - 20 && answer < closedBy(IDLE_MS), `closed after ${answer}ms; --idle-timeout is ${IDLE_MS}ms`);
  await new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('To: admin@work  Message: never closed'));
    socket.on('close', () => resolve());
    socket.on('error', () => {});
  });
  await mailer.waitFor(/Sending email: To: admin@work  Message: never closed/);
});

test('GET /healthz answers 200', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { status: string }).status, 'ok');
});

test('an HTTP request that stalls in its headers or body is closed, and the port keeps taking alerts', async () => {
  const stalled = (text: string) =>
    new Promise<{ ms: number; answer: string }>((resolve) => {
      const started = Date.now();
      let answer = '';
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      socket.on('close', () => resolve({ ms: Date.now() - started, answer }));
      socket.on('error', () => {});
    });
  const [headers, body] = await Promise.all([
    stalled('POST /alerts HTTP/1.1\r\nHost: x\r\n'),
    stalled('POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mess'),
  ]);
  assert.ok(headers.ms < closedBy(IDLE_MS), `stalled headers closed after ${headers.ms}ms; --idle-timeout is ${IDLE_MS}ms`);
  assert.ok(body.ms < closedBy(IDLE_MS), `stalled body closed after ${body.ms}ms; --idle-timeout is ${IDLE_MS}ms`);
  const { status } = await post(JSON.stringify({ message: 'after the stall' }));
  assert.equal(status, 202);
});

test('POST /api/v1/alerts takes an array: 202 when all are kept, else 207 naming by index the items refused and why; too many is a 413', async () => {
  const all = await post(JSON.stringify([{ message: 'batch one', id: 'batch-1' }, { message: 'batch two', to: 'pager@ops.test' }]), '/api/v1/alerts');
  assert.equal(all.status, 202);
  assert.equal(all.json.accepted, 2);
  const results = all.json.results as Array<Record<string, unknown>>;
  assert.deepEqual(results.map((r) => [r.index, r.status]), [[0, 202], [1, 202]]);
  assert.equal(results[0]!.id, 'batch-1');
  await mailer.waitFor(/^Sending email: To: admin@work Message: batch one$/m);
  await mailer.waitFor(/^Sending email: To: pager@ops\.test Message: batch two$/m);

  const mixed = await post(JSON.stringify([{ message: 'batch three' }, { message: 'm', cc: 'x@y' }, { message: 'm', to: 'victim@evil.example' }, { message: 'batch one', id: 'batch-1' }]), '/api/v1/alerts');
  assert.equal(mixed.status, 207);
  assert.equal(mixed.json.accepted, 2);
  assert.equal(mixed.json.refused, 2);
  const items = mixed.json.results as Array<Record<string, unknown>>;
  assert.deepEqual(items.map((r) => [r.index, r.status]), [[0, 202], [1, 400], [2, 403], [3, 202]]);
  assert.match(String(items[1]!.error), /unknown field "cc"/);
  assert.match(String(items[2]!.error), /victim@evil\.example/);
  assert.equal(items[3]!.duplicate, true);
  await mailer.waitFor(/^Sending email: To: admin@work Message: batch three$/m);
  assert.equal(mailer.output().match(/Message: batch one$/gm)?.length, 1, 'the duplicate is not sent again');

  const many = await post(JSON.stringify(Array.from({ length: 501 }, () => ({ message: 'm' }))), '/api/v1/alerts');
  assert.equal(many.status, 413);
  assert.match(String(many.json.error), /at most 500 alerts, not 501/);
  const one = await post(JSON.stringify({ message: 'm' }), '/api/v1/alerts');
  assert.equal(one.status, 400);
  assert.match(String(one.json.error), /JSON array of alerts \(one alert: POST \/alerts\)/);
});
