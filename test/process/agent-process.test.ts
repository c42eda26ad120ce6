/** The agent process on loopback against a real HTTP server and our mailer. */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { freePort, metricsPort, type Running, start, startMailer } from '../support/process.ts';

let mailer: Running;
let mailerPort = 0;

before(async () => {
  const started = await startMailer(['--to', 'admin@work,*@work']);
  mailer = started;
  mailerPort = started.port;
});
// The mailer is shared: each test looks only at what it printed during that test.
beforeEach(() => mailer.mark());
after(async () => {
  await mailer.stop();
});

/** A web site on loopback: port 0 picks a free one (read it with portOf); a given port re-opens a site the test closed. */
function web(port = 0, status = 200): Promise<Server> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

test('up, down with one alert, back up with one "up" alert', async () => {
  let site = await web();
  const port = portOf(site);
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
  const site = await web(0, 503);
  const port = portOf(site);
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
  const received: string[] = [];
  const bookMailer = createTcpServer((socket) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => {
      received.push(text);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => bookMailer.listen(0, '127.0.0.1', resolve));
  const rawPort = (bookMailer.address() as AddressInfo).port;
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
  const site = await web(0, 500);
  const port = portOf(site);
  // The agent must be given the mailer's port before the mailer exists, so here (only) a
  // port is chosen free and handed to a child later; another process could take it meanwhile.
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

test('the "up" alert tells the mailer how long the outage lasted', async () => {
  const port = await freePort();
  const agent = start('agent', ['--target', `http://127.0.0.1:${port}/`, '--mailer', `127.0.0.1:${mailerPort}`, '--interval', '200ms', '--to', 'uptime@work']);
  let site: Server | undefined;
  try {
    await agent.waitFor(/Alert: http:\/\/127\.0\.0\.1:\d+\/ is down \(connection refused\); telling the mailer\./);
    site = await web(port);
    await mailer.waitFor(/Sending email: To: uptime@work Message: The service is back up\. Down for \d+(\.\d)?(ms|s)\./);
    await agent.waitFor(/Alert: http:\/\/127\.0\.0\.1:\d+\/ is up \(down for \d+(\.\d)?(ms|s)\); telling the mailer\./);
  } finally {
    await agent.stop();
    if (site) await close(site);
  }
});

test('several targets: lines name the target; no per-check lines at info level', async () => {
  const site = await web();
  const upPort = portOf(site);
  const deadPort = await freePort();
  const agent = start('agent', [
    '--target', `http://127.0.0.1:${upPort}/`,
    '--target', `tcp://127.0.0.1:${deadPort}`,
    '--mailer', `127.0.0.1:${mailerPort}`,
    '--interval', '200ms',
    '--to', 'several@work',
    '--metrics-port', '0',
  ]);
  try {
    const metrics = await metricsPort(agent);
    await agent.waitFor(/^Watching 2 targets; alerts go to 127\.0\.0\.1:\d+ \(json\)\.$/m);
    await agent.waitFor(new RegExp(`^tcp://127\\.0\\.0\\.1:${deadPort}: check failed: connection refused; confirming\\.$`, 'm'));
    await agent.waitFor(new RegExp(`^Alert: tcp://127\\.0\\.0\\.1:${deadPort} is down \\(connection refused\\); telling the mailer\\.$`, 'm'));
    await mailer.waitFor(/Sending email: To: several@work Message: The service is down!/);
    // Three more checks of each target go by (counted on /metrics) without a line each.
    const checks = async (): Promise<number[]> => {
      const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      return [`http://127.0.0.1:${upPort}/`, `tcp://127.0.0.1:${deadPort}`].map((target) =>
        [...text.matchAll(/^ch2_checks_total\{target="([^"]+)",result="[^"]+"\} (\d+)$/gm)].reduce((sum, m) => (m[1] === target ? sum + Number(m[2]) : sum), 0),
      );
    };
    const first = await checks();
    let now = first;
    for (let i = 0; i < 100 && now.some((n, t) => n < (first[t] ?? 0) + 3); i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = await checks();
    }
    assert.ok(now.every((n, t) => n >= (first[t] ?? 0) + 3), `checks did not go on: ${first} then ${now}`);
    assert.doesNotMatch(agent.output(), /System up\.|System down/);
    assert.equal(agent.output().match(/Alert: /g)?.length, 1);
  } finally {
    await agent.stop();
    await close(site);
  }
});

test('--config YAML: named targets, body keywords, reminders', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ch2-agent-'));
  const site = await web(); // answers "hello"
  const port = portOf(site);
  const path = join(dir, 'targets.yaml');
  writeFileSync(
    path,
    `defaults:
  interval: 200ms
  to: [config@work]
targets:
  - name: home
    url: http://127.0.0.1:${port}/
    bodyContains: hello
  - name: welcome-page
    url: http://127.0.0.1:${port}/welcome
    bodyContains: Welcome
    failureThreshold: 1
    remindEvery: 1s
    maxReminders: 1
`,
  );
  const agent = start('agent', ['--config', path, '--mailer', `127.0.0.1:${mailerPort}`]);
  try {
    await agent.waitFor(/^Alert: welcome-page is down \(body does not contain "Welcome"\); telling the mailer\.$/m);
    await mailer.waitFor(/Sending email: To: config@work Message: The service is down! Still down after \d+(\.\d)?m?s \(reminder 1 of 1\)\./);
    assert.doesNotMatch(agent.output(), /home/, 'the good target makes no line');
  } finally {
    await agent.stop();
    await close(site);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--mailer-token: sent as a bearer token, never printed; a refusal says what to fix and keeps the alert', async () => {
  const token = 'agent-test-token-0123456789';
  const guarded = await startMailer(['--token', token, '--to', 'admin@work,*@work']);
  const port = guarded.port;
  const deadPort = await freePort();
  const target = `http://127.0.0.1:${deadPort}/`;
  const withToken = start('agent', ['--target', target, '--mailer', `127.0.0.1:${port}`, '--mailer-token', token, '--log-level', 'debug', '--to', 'token@work']);
  const without = start('agent', ['--target', target, '--mailer', `127.0.0.1:${port}`]);
  const wrong = start('agent', ['--target', target, '--mailer', `127.0.0.1:${port}`], { MAILER_TOKEN: 'not-the-right-token-000' });
  try {
    await guarded.waitFor(/Sending email: To: token@work Message: The service is down!/);
    await without.waitFor(/mailer refused the alert \(401 unauthorized: missing or wrong bearer token\); the mailer wants a bearer token: set --mailer-token \(MAILER_TOKEN\); alerts are kept and retried/);
    await wrong.waitFor(/mailer refused the alert \(401 unauthorized: .*\); the mailer did not accept our token: check --mailer-token \(MAILER_TOKEN\); alerts are kept and retried/);
    await withToken.waitFor(/delivered/);
    assert.doesNotMatch(withToken.output(), new RegExp(token));
    assert.doesNotMatch(wrong.output(), /not-the-right-token-000/);
    for (const a of [without, wrong]) assert.doesNotMatch(a.output(), /Alert not delivered/, 'a 401 keeps the alert (test/process/agent-token.test.ts: delivered once the mailer takes it)');
  } finally {
    await Promise.all([withToken.stop(), without.stop(), wrong.stop()]);
    await guarded.stop();
  }
});

test('--metrics-port serves /metrics and /healthz for every target', async () => {
  const site = await web();
  const port = portOf(site);
  const deadPort = await freePort();
  const agent = start('agent', [
    '--target', `http://127.0.0.1:${port}/`,
    '--target', `http://127.0.0.1:${deadPort}/`,
    '--mailer', `127.0.0.1:${mailerPort}`,
    '--interval', '200ms',
    '--metrics-port', '0',
  ]);
  try {
    const metrics = await metricsPort(agent);
    await agent.waitFor(/Alert: http:\/\/127\.0\.0\.1:\d+\/ is down/);
    let text = '';
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`http://127.0.0.1:${metrics}/metrics`);
      assert.equal(res.status, 200);
      text = await res.text();
      if (text.includes(`ch2_target_up{target="http://127.0.0.1:${deadPort}/"} 0`)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, new RegExp(`ch2_target_up\\{target="http://127\\.0\\.0\\.1:${port}/"\\} 1`));
    assert.match(text, new RegExp(`ch2_target_up\\{target="http://127\\.0\\.0\\.1:${deadPort}/"\\} 0`));
    assert.match(text, new RegExp(`ch2_checks_total\\{target="http://127\\.0\\.0\\.1:${port}/",result="ok"\\} [1-9]`));
    assert.match(text, new RegExp(`ch2_alerts_total\\{target="http://127\\.0\\.0\\.1:${deadPort}/",status="down",reminder="false"\\} 1`));
    assert.match(text, /^ch2_alerts_pending \d+$/m);
    const health = (await (await fetch(`http://127.0.0.1:${metrics}/healthz`)).json()) as { ok: boolean; targets: number; down: number };
    assert.deepEqual([health.ok, health.targets, health.down], [true, 2, 1]);
  } finally {
    await agent.stop();
    await close(site);
  }
});

test('--metrics-port on a port in use: one line, exit 2', async () => {
  const busy = createTcpServer();
  await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
  const port = (busy.address() as { port: number }).port;
  const agent = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', '127.0.0.1:1', '--metrics-port', String(port)]);
  try {
    const code = await new Promise<number | null>((resolve) => agent.child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(agent.output(), new RegExp(`^ch2-agent: metrics: port ${port} already in use\\n$`));
  } finally {
    await agent.stop();
    await new Promise((r) => busy.close(r));
  }
});

test('stdout closed (`| head -1`): the agent goes on checking and tells the mailer when the site fails', async () => {
  const site = await web();
  const agent = start('agent', ['--target', `http://127.0.0.1:${portOf(site)}/`, '--mailer', `127.0.0.1:${mailerPort}`, '--interval', '200ms']);
  try {
    await agent.waitFor(/^System up\.$/m);
    agent.child.stdout!.destroy(); // the reader goes away: every later "System up." meets EPIPE
    await close(site);
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is down!/);
    assert.equal(agent.child.exitCode, null, 'the agent is still running');
  } finally {
    await agent.stop();
  }
});
