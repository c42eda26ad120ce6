/**
 * One mailer container, fed everything a careless or hostile client might
 * send on its one port (raw TCP and HTTP, from the host through the mapped
 * port): each is refused with a reason and logged, and the mailer still takes
 * a good alert afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Cleanup, http, startMailer, startNetwork, tcpExchange, type Started } from './helpers.ts';

const IDLE_TIMEOUT_MS = 1000;

describe('bad input to the mailer', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  let mailer: Started;
  let host: string;
  let port: number;
  let base: string;

  before(async () => {
    const net = await startNetwork(cleanup);
    mailer = await startMailer(net, cleanup, { args: ['--idle-timeout', '1s'] });
    host = mailer.container.getHost();
    port = mailer.container.getMappedPort(33333);
    base = `http://${host}:${port}`;
  }, { timeout: 60_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('oversized raw message (70 KB) is refused and the connection closed', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    const big = Buffer.from(`To: admin@work  Message: ${'x'.repeat(70 * 1024)}`);
    const out = await tcpExchange(host, port, big, { timeoutMs: 10_000 });
    assert.notEqual(out.ended, 'timeout', 'the mailer closed the connection');
    await mailer.logs.waitFor(/Refused raw alert from [^:\n]+:\d+: message over the 65536-byte limit; connection closed/, 5_000, from);
    assert.doesNotMatch(mailer.logs.text.slice(from), /Sending email/);
  });

  test('garbage bytes are refused as not UTF-8 text', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    // Starts with a byte that cannot begin an HTTP method, so it is read as raw text.
    const garbage = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(512)]);
    const out = await tcpExchange(host, port, garbage, { timeoutMs: 10_000 });
    assert.equal(out.ended, 'server-closed');
    await mailer.logs.waitFor(/Refused raw alert from [^\n]+: message is not valid UTF-8 text/, 5_000, from);
    assert.doesNotMatch(mailer.logs.text.slice(from), /Sending email/);
  });

  test('text not in the book\'s form is refused with a preview on one line', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    await tcpExchange(host, port, 'hello there\nSending email: forged line\n', { timeoutMs: 10_000 });
    const { match } = await mailer.logs.waitFor(/Refused raw alert from [^\n]+: not in the book's form[^\n]*/, 5_000, from);
    assert.match(match[0], /hello there\\nSending email: forged line/, 'line breaks are escaped');
    assert.doesNotMatch(mailer.logs.text.slice(from), /^Sending email/m, 'no forged log line');
  });

  test('bad JSON is a 400 with the reason', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    const r = await http('POST', `${base}/alerts`, '{"message": "The service is down!",', { raw: true });
    assert.equal(r.status, 400);
    const body = r.json as { error?: string };
    assert.equal(typeof body?.error, 'string', `body: ${r.text}`);
    assert.ok(body.error!.length > 0);
    await mailer.logs.waitFor(/Refused json alert from [^\n]+/, 5_000, from);

    const noMessage = await http('POST', `${base}/alerts`, { to: 'admin@work' });
    assert.equal(noMessage.status, 400, noMessage.text);
    assert.match((noMessage.json as { error: string }).error, /message/i);
    const badStatus = await http('POST', `${base}/alerts`, { message: 'x', status: 'sideways' });
    assert.equal(badStatus.status, 400, badStatus.text);
    assert.doesNotMatch(mailer.logs.text.slice(from), /Sending email/);
  });

  test('an unknown path is a 404, a JSON body over 64 KiB a 413', { timeout: 20_000 }, async () => {
    const r = await http('GET', `${base}/nope`);
    assert.equal(r.status, 404);
    assert.match((r.json as { error: string }).error, /no such path/);
    const big = await http('POST', `${base}/alerts`, { message: 'y'.repeat(70 * 1024) });
    assert.equal(big.status, 413, big.text);
    const health = await http('GET', `${base}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a recipient not on the allowlist is a 403 and a Refused line (JSON and raw)', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    const r = await http('POST', `${base}/alerts`, { message: 'The service is down!', to: 'mallory@evil' });
    assert.equal(r.status, 403, r.text);
    assert.match((r.json as { error: string }).error, /mallory@evil/);
    await mailer.logs.waitFor(/Refused json alert from [^\n]+: recipient mallory@evil is not on the allowlist/, 5_000, from);
    await tcpExchange(host, port, 'To: mallory@evil  Message: The service is down!', { timeoutMs: 10_000 });
    await mailer.logs.waitFor(/Refused raw alert from [^\n]+: recipient mallory@evil is not on the allowlist/, 5_000, from);
    assert.doesNotMatch(mailer.logs.text.slice(from), /Sending email/);
  });

  test(`a connection that sends nothing is closed after --idle-timeout (${IDLE_TIMEOUT_MS} ms)`, { timeout: 20_000 }, async () => {
    const out = await tcpExchange(host, port, undefined, { keepOpen: true, timeoutMs: 8_000 });
    console.log(`  idle connection closed by the mailer after ${Math.round(out.ms)} ms`);
    assert.equal(out.ended, 'server-closed', `the connection was not closed by the mailer (${out.ended})`);
    assert.ok(out.ms >= IDLE_TIMEOUT_MS * 0.8, `closed too early: ${Math.round(out.ms)} ms`);
    assert.ok(out.ms < IDLE_TIMEOUT_MS + 4_000, `closed too late: ${Math.round(out.ms)} ms`);
    assert.equal(out.received, '');
  });

  // The mailer hands HTTP connections to an http.Server that never listen()s, so Node's
  // own header and request timers do not run; a client that stops mid-request must
  // still be cut off, or 1024 of them would fill maxConnections and refuse every alert.
  test(`an HTTP request that stalls mid-headers is closed after about --idle-timeout`, {
    timeout: 20_000,
  }, async () => {
    const out = await tcpExchange(host, port, 'POST /alerts HTTP/1.1\r\nHost: mailer\r\n', { keepOpen: true, timeoutMs: 6_000 });
    console.log(`  stalled HTTP request: ${out.ended} after ${Math.round(out.ms)} ms`);
    assert.notEqual(out.ended, 'timeout', 'the mailer still holds a stalled HTTP connection after 6 s (--idle-timeout 1s)');
  });

  test('a raw sender that goes quiet without closing has its text taken after --idle-timeout', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    const out = await tcpExchange(host, port, 'To: admin@work  Message: Sent without closing.', { keepOpen: true, timeoutMs: 8_000 });
    assert.equal(out.ended, 'server-closed', `the connection was not closed by the mailer (${out.ended})`);
    assert.ok(out.ms >= IDLE_TIMEOUT_MS * 0.8, `closed too early: ${Math.round(out.ms)} ms`);
    await mailer.logs.waitFor(/^Sending email: To: admin@work {2}Message: Sent without closing\.$/m, 5_000, from);
  });

  test('after all that, a good alert is still accepted and logged (JSON and raw)', { timeout: 20_000 }, async () => {
    const from = mailer.logs.mark();
    const r = await http('POST', `${base}/alerts`, { message: 'The service is down!', target: 'http://insideweb:80/' });
    assert.equal(r.status, 202, r.text);
    assert.match((r.json as { id: string }).id, /\S/);
    await mailer.logs.waitFor(/^Sending email: To: admin@work Message: The service is down!$/m, 5_000, from);
    const raw = await tcpExchange(host, port, 'To: admin@work  Message: Still here.', { timeoutMs: 10_000 });
    assert.equal(raw.ended, 'server-closed');
    await mailer.logs.waitFor(/^Sending email: To: admin@work {2}Message: Still here\.$/m, 5_000, from);
  });
});
