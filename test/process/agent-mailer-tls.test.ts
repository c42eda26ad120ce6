/**
 * The agent's side of TLS to the mailer, from the built bundles: --mailer
 * https://… with --mailer-ca (MAILER_CA) sends its alerts over TLS to a
 * mailer bundle behind a test-only TLS terminator (node:tls, certificates
 * made by openssl), and a recorder in front of it sees only TLS records:
 * neither the token nor the alert crosses in clear. A wrong CA, or none, is
 * refused in one readable line and nothing reaches the mailer. A token to a
 * plain http:// mailer beyond this host warns at start; bad combinations
 * exit 2 with one line.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { after, test } from 'node:test';
import { testCertificates } from '../support/certs.ts';
import { run, start, startMailer } from '../support/process.ts';

const TOKEN = 'tls-test-token-0123456789';
const certs = testCertificates();
const other = testCertificates('ch2-certs-other-');
const servers: Array<Server | TlsServer> = [];
const sockets = new Set<Socket>();
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function listen(server: Server | TlsServer): Promise<number> {
  servers.push(server);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const pipe = (a: Socket, b: Socket): void => {
  a.pipe(b).on('error', () => a.destroy());
  b.pipe(a).on('error', () => b.destroy());
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
};

/** Agent → recorder (every byte the agent sends, per connection) → TLS terminator → mailer (plain). */
async function tlsInFront(mailerPort: number) {
  const pair = certs.leaf(30 * 86_400_000);
  let handshakes = 0;
  const terminator = createTlsServer({ key: pair.key, cert: pair.cert }, (clear) => {
    handshakes += 1;
    pipe(clear as unknown as Socket, connect(mailerPort, '127.0.0.1'));
  });
  terminator.on('tlsClientError', () => {});
  const tlsPort = await listen(terminator);
  const recorded: Buffer[][] = [];
  const recorder = createServer((agent) => {
    const chunks: Buffer[] = [];
    recorded.push(chunks);
    agent.on('data', (c: Buffer) => chunks.push(c));
    pipe(agent, connect(tlsPort, '127.0.0.1'));
  });
  const port = await listen(recorder);
  return { port, recorded, handshakes: () => handshakes };
}

test('--mailer https:// with --mailer-ca: the alert goes over TLS, the token is taken, and neither crosses in clear', async () => {
  const mailer = await startMailer(['--token', TOKEN, '--to', 'admin@work']);
  const front = await tlsInFront(mailer.port);
  const agent = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', `https://localhost:${front.port}`, '--mailer-ca', certs.caFile, '--report-every', '1s'], { MAILER_TOKEN: TOKEN });
  try {
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is down!/);
    await agent.waitFor(/Alert: http:\/\/127\.0\.0\.1:1\/ is down/);
    assert.doesNotMatch(agent.output(), /Mailer unreachable|TLS error|refused our token|goes in clear/);
    assert.ok(front.recorded.length >= 2, 'the token check and the alert, each on its own connection');
    for (const chunks of front.recorded) {
      const bytes = Buffer.concat(chunks);
      if (bytes.length === 0) continue;
      assert.equal(bytes[0], 0x16, 'each connection opens with a TLS handshake record');
      for (const secret of [TOKEN, 'Bearer', 'admin@work', 'The service is down', 'POST']) assert.equal(bytes.includes(secret), false, `"${secret}" crossed in clear`);
    }
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});

test('a wrong CA, or none: one readable line, the alert waits, and nothing reaches the mailer', async () => {
  const mailer = await startMailer(['--token', TOKEN]);
  const front = await tlsInFront(mailer.port);
  const where = `localhost:${front.port}`;
  const wrong = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', `https://${where}`, '--report-every', 'off'], { MAILER_CA: other.caFile, MAILER_TOKEN: TOKEN });
  const none = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', `https://${where}`, '--report-every', 'off'], { MAILER_TOKEN: TOKEN });
  try {
    for (const agent of [wrong, none]) {
      await agent.waitFor(new RegExp(`^Mailer unreachable at ${where}: TLS error: certificate signed by an unknown CA \\(trust it with --mailer-ca\\); alerts wait and are retried until it answers\\.$`, 'm'));
      await agent.waitFor(new RegExp(`^mailer unreachable at ${where}: TLS error: certificate signed by an unknown CA \\(trust it with --mailer-ca\\); retrying in [\\d.]+s \\(1 alert waiting\\)$`, 'm'));
      assert.doesNotMatch(agent.output(), /SSL routines|UNABLE_TO|--ca-file/);
    }
    assert.equal(front.handshakes(), 0, 'no handshake completed');
    assert.doesNotMatch(mailer.output(), /Sending email|Accepted/);
    for (const chunks of front.recorded) assert.equal(Buffer.concat(chunks).includes(TOKEN), false);
  } finally {
    await Promise.all([wrong.stop(), none.stop(), mailer.stop()]);
  }
});

test('a token to a plain http:// mailer beyond this host: a warning at start; none on loopback or a one-label name', async () => {
  const far = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', 'http://mailer.example.invalid:33333', '--report-every', 'off'], { MAILER_TOKEN: TOKEN });
  const near = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', '127.0.0.1:9,insidemailer:9', '--report-every', 'off'], { MAILER_TOKEN: TOKEN });
  try {
    await far.waitFor(/The mailer token goes in clear to mailer\.example\.invalid:33333, beyond this host: give the mailer as https:\/\/host:port \(with --mailer-ca for a private CA\)/);
    await near.waitFor(/System down/);
    assert.doesNotMatch(near.output(), /goes in clear/);
    assert.doesNotMatch(far.output() + near.output(), new RegExp(TOKEN));
  } finally {
    await Promise.all([far.stop(), near.stop()]);
  }
});

test('--mailer-ca without an https:// mailer, https:// with the raw protocol, a bad CA file: exit 2 with one line', () => {
  for (const [args, env, reason] of [
    [['--mailer-ca', certs.caFile], {}, /--mailer-ca \(MAILER_CA\) is for a mailer over TLS: give it as --mailer https:\/\/host:port \(MAILER_URL\)\./],
    [['--mailer', 'https://m', '--mailer-protocol', 'raw'], {}, /--mailer https:\/\/… \(MAILER_URL\) speaks JSON/],
    [['--mailer', 'https://m'], { MAILER_CA: '/nonexistent/ca.pem' }, /--mailer-ca.*cannot read "\/nonexistent\/ca\.pem": no such file/],
    [['--mailer', 'm1:33333,,m2'], {}, /An empty mailer in the list/],
    [['--mailer', 'm1:33333,m1'], {}, /The mailer m1:33333 is listed twice\./],
    [[], { MAILER_URL: 'm1,ftp://m2' }, /"ftp:\/\/m2": Expected tcp:\/\/, http:\/\/ or https:\/\/\./],
  ] as const) {
    const r = run('agent', [...args], env);
    assert.equal(r.code, 2, `${args} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, reason);
  }
});
