/**
 * --mailer-protocol raw counts an alert as delivered only when the mailer
 * read it: a clean close after our FIN (or a connection the book's nc keeps
 * open); a reset is a failed send, retried, unless the mailer's /healthz
 * then says its raw protocol is off: failed for good, counted in
 * ch2_alerts_failed_total. Against the real mailer bundle (with and without
 * --no-raw) and against loopback servers that behave as the book's `nc -l`
 * does.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { startBundle } from '../support/bundle.ts';
import { freePort } from '../support/process.ts';

async function listen(onSocket: (s: Socket, text: () => string) => void, allowHalfOpen = false): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer({ allowHalfOpen }, (socket) => {
    let text = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => received.push(text));
    onSocket(socket, () => text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

function rawAgent(mailerPort: number, extra: string[] = []) {
  return startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--mailer', `127.0.0.1:${mailerPort}`, '--mailer-protocol', 'raw', '--exit-on-alert', ...extra]);
}

test('raw: a mailer with --no-raw resets; asked, its /healthz says raw is off: the alert is failed for good (ch2_alerts_failed_total 1), not retried, no exit as if delivered', async () => {
  const port = await freePort();
  const mailer = startBundle('mailer', ['--port', String(port), '--bind', '127.0.0.1', '--no-raw']);
  await mailer.waitFor(/CH2 Example Mailer has started\./);
  const agent = rawAgent(port, ['--metrics-port', '0']);
  try {
    await agent.waitFor(/Metrics on port \d+\./);
    const metricsPort = /Metrics on port (\d+)\./.exec(agent.output())![1];
    await agent.waitFor(/Alert not delivered: the mailer at 127\.0\.0\.1:\d+ refused the raw alert: its raw text protocol is off \(--no-raw, or --token without --raw\); use --mailer-protocol json/);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^ch2_alerts_failed_total 1$/m);
    assert.equal(agent.child.exitCode, null, 'still running: nothing was delivered');
    assert.doesNotMatch(agent.output(), /Alert delivered; exiting|retrying in/);
    assert.equal(agent.output().match(/refused the raw alert/g)?.length, 1, 'one send, not retried');
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
  assert.doesNotMatch(mailer.output(), /Sending email/);
});

test('raw: the real mailer with raw on takes the alert; --exit-on-alert exits 0', async () => {
  const port = await freePort();
  const mailer = startBundle('mailer', ['--port', String(port), '--bind', '127.0.0.1']);
  await mailer.waitFor(/CH2 Example Mailer has started\./);
  const agent = rawAgent(port);
  try {
    assert.equal(await agent.exited, 0);
    await mailer.waitFor(/Sending email: To: admin@work  Message: The service is down!/);
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});

test("raw: the book's nc (reads to EOF, then closes) counts as delivered", async () => {
  const nc = await listen((socket) => socket.on('end', () => socket.end()));
  const agent = rawAgent(nc.port);
  try {
    assert.equal(await agent.exited, 0);
    assert.deepEqual(nc.received, ['To: admin@work  Message: The service is down!']);
  } finally {
    await agent.stop();
    nc.server.close();
  }
});

test("raw: an nc that reads to EOF and keeps its side open counts as delivered after the send timeout", async () => {
  const open: Socket[] = [];
  const nc = await listen((socket) => open.push(socket), true);
  const agent = rawAgent(nc.port);
  try {
    await agent.waitFor(/Alert: /);
    const sentAt = Date.now();
    assert.equal(await agent.exited, 0);
    assert.ok(Date.now() - sentAt > 3000, 'delivered at the send timeout (5 s), not at once');
    assert.equal(nc.received.length, 1);
  } finally {
    await agent.stop();
    for (const s of open) s.destroy();
    nc.server.close();
  }
});

test('raw: a reset after reading is a failed send, retried until a mailer takes it (its /healthz, asked after each reset, says nothing of raw)', async () => {
  let refuse = 2;
  let asked = 0;
  const flaky = await listen((socket, text) => {
    // The agent's question after a reset: no ch2 mailer here.
    socket.on('data', () => {
      if (!text().startsWith('GET /healthz ')) return;
      asked += 1;
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    socket.on('end', () => {
      if (text().startsWith('GET ')) return;
      if (refuse > 0) {
        refuse -= 1;
        socket.resetAndDestroy();
      } else socket.end();
    });
  });
  const agent = rawAgent(flaky.port);
  try {
    assert.equal(await agent.exited, 0);
    assert.equal(flaky.received.filter((t) => t.startsWith('To: ')).length, 3, 'two refused sends and the one that was taken');
    assert.equal(asked, 2, 'one question a reset');
    assert.equal(agent.output().match(/reset the connection/g)?.length, 2);
  } finally {
    await agent.stop();
    flaky.server.close();
  }
});
