/** The agent process on loopback against a real HTTP server and our mailer. */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, type Running, start } from '../support/process.ts';

let mailer: Running;
let mailerPort = 0;

before(async () => {
  mailerPort = await freePort();
  mailer = start('mailer', ['--port', String(mailerPort), '--bind', '127.0.0.1']);
  await mailer.waitFor(/CH2 Example Mailer has started\./);
});
after(async () => {
  await mailer.stop();
});

function web(port: number, status = 200): Promise<Server> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

test('up, down with one alert, back up with one "up" alert', async () => {
  const port = await freePort();
  let site = await web(port);
  const agent = start('agent', ['--target', `http://127.0.0.1:${port}/`, '--mailer', `127.0.0.1:${mailerPort}`, '--interval', '200ms']);
  try {
    await agent.waitFor(/^System up\.$/m);
    await close(site);
    await mailer.waitFor(new RegExp(`Sending email: To: admin@work Message: The service is down!`));
    await agent.waitFor(/System down: connection refused\./);
    site = await web(port);
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is back up\./);
    assert.equal(agent.output().match(/is down/g)?.length, 1, 'one down alert per outage');
  } finally {
    await agent.stop();
    await close(site);
  }
});

test('a 503 is down; --expect-status decides what is up', async () => {
  const port = await freePort();
  const site = await web(port, 503);
  const strict = start('agent', ['--target', `http://127.0.0.1:${port}/`, '--mailer', `127.0.0.1:${mailerPort}`, '--interval', '200ms', '--to', 'admin@work']);
  const lenient = start('agent', ['--target', `http://127.0.0.1:${port}/`, '--mailer', `127.0.0.1:1`, '--expect-status', '2xx,503', '--interval', '200ms']);
  try {
    await strict.waitFor(/System down: HTTP 503\./);
    await lenient.waitFor(/^System up\.$/m);
    assert.doesNotMatch(lenient.output(), /System down/);
  } finally {
    await Promise.all([strict.stop(), lenient.stop()]);
    await close(site);
  }
});

test('--mailer-protocol raw sends the book\'s bytes; --exit-on-alert exits after delivery', async () => {
  const rawPort = await freePort();
  const received: string[] = [];
  const bookMailer = createTcpServer((socket) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => {
      received.push(text);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => bookMailer.listen(rawPort, '127.0.0.1', resolve));
  const deadPort = await freePort();
  const agent = start('agent', ['--target', `http://127.0.0.1:${deadPort}/`, '--mailer', `127.0.0.1:${rawPort}`, '--mailer-protocol', 'raw', '--exit-on-alert']);
  try {
    const code = await new Promise<number | null>((resolve) => agent.child.on('exit', resolve));
    assert.equal(code, 0);
    assert.deepEqual(received, ['To: admin@work  Message: The service is down!']);
  } finally {
    await agent.stop();
    await new Promise((r) => bookMailer.close(r));
  }
});

test('an unreachable mailer: clear log lines, checks go on, the alert lands when it comes', async () => {
  const port = await freePort();
  const site = await web(port, 500);
  const latePort = await freePort();
  const agent = start('agent', ['--target', `http://127.0.0.1:${port}/`, '--mailer', `127.0.0.1:${latePort}`, '--interval', '200ms']);
  let late: Running | undefined;
  try {
    await agent.waitFor(/mailer unreachable at 127\.0\.0\.1:\d+: connection refused; retrying in/);
    const checksBefore = agent.output().match(/System down/g)?.length ?? 0;
    await agent.waitFor(new RegExp(`(System down[^]*){${checksBefore + 3}}`));
    late = start('mailer', ['--port', String(latePort), '--bind', '127.0.0.1']);
    await late.waitFor(/Sending email: To: admin@work Message: The service is down!/, 40_000);
  } finally {
    await agent.stop();
    await late?.stop();
    await close(site);
  }
});

test('SIGTERM stops the agent promptly', async () => {
  const agent = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', '127.0.0.1:1']);
  await agent.waitFor(/System down/);
  const started = Date.now();
  const code = await agent.stop();
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started}ms`);
});
