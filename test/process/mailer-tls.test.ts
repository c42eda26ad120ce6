/**
 * HTTPS on the mailer's port (issue 17 item 5), on the bundle, with a CA and
 * a leaf made by openssl in the test (test/support/certs.ts): POST /alerts
 * over TLS is 202 (401 without the token); plaintext HTTP to the port gets a
 * plaintext 400 saying to use https://; the book's raw text is refused on it
 * (reset), and --raw with --tls-cert exits 2; bad certificate or key files
 * exit 2 with one line; `ch2-mailer healthcheck` and the image's
 * ch2-healthcheck (which hands an HTTPS port to node) still get their 200 over TLS;
 * the agent bundle with --mailer https://… --mailer-ca sends its alert and its
 * reports straight to that port (no terminator in between); a handshake that
 * stalls after its first byte is closed after --idle-timeout (it used to stay
 * open for good: node leaves a socket whose tlsClientError has a listener).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { testCertificates } from '../support/certs.ts';
import { run, start } from '../support/process.ts';

const TOKEN = 'tls-token-0123456789abcdef';
const certs = testCertificates('ch2-mailer-tls-');
const leaf = certs.leaf(7 * 86_400_000);
const keyFile = join(certs.dir, 'leaf.key');
writeFileSync(keyFile, leaf.key);
const ROOT = new URL('../..', import.meta.url).pathname;

function post(port: number, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: 'localhost', port, method: 'POST', path: '/alerts', ca: execFileSync('cat', [certs.caFile]), headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ to: 'admin@work', message: 'over TLS' }));
  });
}

/** What the port answers to `bytes` in plaintext, until it closes (or resets: 'reset'). */
function plaintext(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : err.message));
    socket.on('close', () => resolve(text));
  });
}

async function tlsMailer(extra: string[] = [], env: Record<string, string> = {}) {
  const store = mkdtempSync(join(tmpdir(), 'ch2-tls-store-'));
  after(() => rmSync(store, { recursive: true, force: true }));
  const mailer = start('mailer', ['--port', '0', '--bind', '127.0.0.1', '--store', store, '--tls-cert', leaf.certFile, '--tls-key', keyFile, '--log-level', 'debug', ...extra], env);
  const m = await mailer.waitFor(/Listening on 127\.0\.0\.1:(\d+);/);
  return Object.assign(mailer, { port: Number(m[1]), store });
}

test('--tls-cert/--tls-key: POST /alerts over HTTPS is 202 (401 without the token); plaintext HTTP gets a 400 naming https://; raw text is reset', async () => {
  const mailer = await tlsMailer([], { MAILER_TOKEN: TOKEN });
  try {
    assert.equal((await post(mailer.port)).status, 401);
    assert.equal((await post(mailer.port, TOKEN)).status, 202);
    await mailer.waitFor(/^Sending email: To: admin@work Message: over TLS$/m);
    const answer = await plaintext(mailer.port, 'POST /alerts HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /This port speaks HTTPS .*use https:\/\//);
    assert.equal(await plaintext(mailer.port, 'To: admin@work Message: raw over the TLS port'), 'reset');
    await mailer.waitFor(/Refused raw .*raw text protocol is off \(the port speaks HTTPS \(--tls-cert\)\)/);
    assert.doesNotMatch(mailer.output(), /Sending email: .*raw over the TLS port/);
    assert.match(mailer.output(), /Status page: https:\/\/127\.0\.0\.1:/);
  } finally {
    await mailer.stop();
  }
});

test('with TLS on, `ch2-mailer healthcheck` and the image\'s ch2-healthcheck (through node: busybox wget has no usable TLS) get their 200 over HTTPS', async (t) => {
  const mailer = await tlsMailer();
  try {
    const own = run('mailer', ['healthcheck'], { STORE_DIR: mailer.store });
    assert.equal(own.code, 0, own.stdout + own.stderr);
    assert.match(own.stdout, /healthz: HTTP 200/);
    const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
    if (busybox === '') return t.skip('no busybox on this machine');
    const bin = mkdtempSync(join(tmpdir(), 'ch2-bb-'));
    after(() => rmSync(bin, { recursive: true, force: true }));
    mkdirSync(bin, { recursive: true });
    symlinkSync(busybox, join(bin, 'wget'));
    symlinkSync(busybox, join(bin, 'sed'));
    // The image's ch2-mailer: the bundle (the image has node and busybox, no openssl).
    writeFileSync(join(bin, 'ch2-mailer'), `#!${busybox} sh\nexec ${process.execPath} ${join(ROOT, 'dist/mailer.mjs')} "$@"\n`, { mode: 0o755 });
    const image = spawnSync(busybox, ['sh', join(ROOT, 'docker/runtime/ch2-healthcheck')], { env: { PATH: bin, STORE_DIR: mailer.store }, encoding: 'utf8', timeout: 10_000 });
    assert.equal(image.status, 0, image.stdout + image.stderr);
    assert.match(image.stdout, /^healthz: HTTP 200$/m);
  } finally {
    await mailer.stop();
  }
});

test('bad TLS files, one flag of the two, or --raw with TLS: exit 2 with one line, the key never shown', () => {
  const other = certs.selfSigned();
  const otherKey = join(certs.dir, 'other.key');
  writeFileSync(otherKey, other.key);
  for (const [args, reason] of [
    [['--tls-cert', leaf.certFile, '--tls-key', otherKey], /--tls-key \(TLS_KEY\): .* does not match the certificate/],
    [['--tls-cert', keyFile, '--tls-key', keyFile], /--tls-cert \(TLS_CERT\): .* holds no PEM certificate/],
    [['--tls-cert', leaf.certFile, '--tls-key', leaf.certFile], /--tls-key \(TLS_KEY\): .* holds no PEM private key/],
    [['--tls-cert', leaf.certFile, '--tls-key', join(certs.dir, 'none.key')], /--tls-key \(TLS_KEY\): .* cannot be read \(ENOENT\)/],
    [['--tls-cert', leaf.certFile], /--tls-cert \(TLS_CERT\) and --tls-key \(TLS_KEY\) go together/],
    [['--tls-cert', leaf.certFile, '--tls-key', keyFile, '--raw'], /--raw .* cannot be served with --tls-cert/],
  ] as const) {
    const r = run('mailer', [...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, reason);
    for (const key of [leaf.key, other.key]) assert.ok(!r.stderr.includes(key.split('\n')[1]!), `a key's content is printed: ${r.stderr}`);
  }
  // The env mirrors.
  const env = run('mailer', [], { TLS_CERT: leaf.certFile, TLS_KEY: otherKey });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /does not match/);
});

test('the agent bundle with --mailer https://… --mailer-ca against the mailer\'s own --tls-cert port: its token check, down alert and reports all arrive over TLS', async () => {
  const mailer = await tlsMailer(['--to', 'admin@work'], { MAILER_TOKEN: TOKEN });
  const agent = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', `https://localhost:${mailer.port}`, '--mailer-ca', certs.caFile, '--report-every', '1s', '--agent-name', 'tls-agent'], { MAILER_TOKEN: TOKEN });
  try {
    await mailer.waitFor(/^Sending email: To: admin@work Message: The service is down!$/m);
    await agent.waitFor(/Alert: http:\/\/127\.0\.0\.1:1\/ is down/);
    // The hub has the agent's report (over the same TLS port): its row, read back over HTTPS.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const status = await new Promise<string>((resolve, reject) => {
        const req = request({ host: 'localhost', port: mailer.port, path: '/api/v1/status', ca: execFileSync('cat', [certs.caFile]), headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
      if (status.includes('"tls-agent"')) break;
      if (Date.now() > deadline) assert.fail(`no report of tls-agent within 5 s: ${status.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.doesNotMatch(agent.output(), /Mailer unreachable|TLS error|refused our token|goes in clear|report.*failed/i);
    assert.doesNotMatch(mailer.output() + agent.output(), new RegExp(TOKEN));
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});

test('a TLS handshake that never finishes (the first byte of a ClientHello, then nothing) is closed after --idle-timeout; the port still takes alerts', { timeout: 20_000 }, async () => {
  const mailer = await tlsMailer(['--idle-timeout', '1s'], { MAILER_TOKEN: TOKEN });
  try {
    const slow = Array.from({ length: 20 }, () => connect(mailer.port, '127.0.0.1', function (this: import('node:net').Socket) {
      this.write(Buffer.from([0x16]));
    }));
    const t0 = Date.now();
    const closedAt = await Promise.all(slow.map((s) => new Promise<number>((resolve) => {
      s.on('error', () => {});
      s.on('close', () => resolve(Date.now() - t0));
    })));
    // The handshake's deadline is the idle timeout (1 s); 1 s more is the slack of a loaded machine.
    assert.ok(Math.max(...closedAt) < 2_000, `closed after ${Math.max(...closedAt)} ms`);
    assert.ok(Math.min(...closedAt) >= 900, `not before the timeout: ${Math.min(...closedAt)} ms`);
    assert.equal((await post(mailer.port, TOKEN)).status, 202);
  } finally {
    await mailer.stop();
  }
});
