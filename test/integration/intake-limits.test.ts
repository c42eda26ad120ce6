/**
 * Connections on the mailer image:
 * - a thousand slow raw and HTTP connections from one container (each reopened
 *   as soon as the mailer closes it) while real alerts from another container
 *   land within two seconds (--max-connections-per-peer);
 * - a raw sender dripping bytes is cut off at its absolute deadline (three
 *   --idle-timeout from its first byte), however steady the drip;
 * - out of file descriptors (EMFILE on accept): logged, survived, and a real
 *   alert lands once they are free again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Cleanup, containerIp, dockerOk, followDockerLogs, http, IMAGES, type LogBuffer, MAILER_STARTED, type StartedNetwork, startMailer, TEST_LABEL, uniqueName, waitUntil, withSuiteNetwork } from './helpers.ts';

/** In a node container: `count` connections, half raw half HTTP, each dripping a byte a second, reopened when closed. */
const SLOW_SOCKETS = `
const net = require('node:net');
const [host, count] = [process.argv[1], Number(process.argv[2])];
let open = 0, opened = 0, closed = 0;
function one(i) {
  const text = i % 2 ? 'To: admin@work  Message: slow' : 'POST /alerts HTTP/1.1\\r\\nhost: m\\r\\n';
  const s = net.connect({ host, port: 33333 });
  let at = 0, timer;
  s.on('connect', () => { open++; opened++; s.write(text[at++]); timer = setInterval(() => s.write(text[at++ % text.length]), 1000); });
  s.on('error', () => {});
  s.on('close', () => { clearInterval(timer); if (s.connecting === false && at > 0) open--; closed++; setTimeout(() => one(i), 100); });
}
for (let i = 0; i < count; i++) one(i);
setInterval(() => console.log('slow: open ' + open + ' opened ' + opened + ' closed ' + closed), 500);
`;

/** In a node container: `n` real alerts, JSON and raw in turn, 200 ms apart; prints when each was sent. */
const REAL_SENDER = `
const net = require('node:net');
const [host, n] = [process.argv[1], Number(process.argv[2])];
(async () => {
  for (let k = 0; k < n; k++) {
    const message = 'real-' + k;
    console.log('sent ' + k + ' ' + Date.now());
    if (k % 2) {
      await new Promise((resolve) => { const s = net.connect({ host, port: 33333 }, () => s.end('To: admin@work  Message: ' + message)); s.on('close', resolve); s.on('error', resolve); });
    } else {
      const r = await fetch('http://' + host + ':33333/alerts', { method: 'POST', body: JSON.stringify({ to: 'admin@work', message }) }).catch((e) => ({ status: e.message }));
      console.log('answer ' + k + ' ' + r.status);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log('sender done');
})();
`;

/** A node container on `net` running `script` with `args`; its log followed; removed at cleanup. */
async function nodeContainer(net: StartedNetwork, cleanup: Cleanup, role: string, script: string, args: string[]): Promise<LogBuffer> {
  const name = uniqueName(role);
  cleanup.names(name);
  await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), '--entrypoint', 'node', IMAGES.mailer, '-e', script, ...args]);
  const { logs, stop } = followDockerLogs(name);
  cleanup.defer(`stop following ${name}`, stop);
  return logs;
}

describe('connection limits on the mailer image', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  withSuiteNetwork(cleanup, (n) => (net = n));

  test('a thousand slow connections from one container do not keep real alerts from another out for more than two seconds', { timeout: 90_000 }, async (t) => {
    const mailer = await startMailer(net, cleanup, { aliases: ['insidemailer'] });
    const slow = await nodeContainer(net, cleanup, 'slow', SLOW_SOCKETS, ['insidemailer', '1000']);
    // The attack is on: a thousand tried, the mailer closing what is over the per-peer limit.
    const opened = (): number => Math.max(0, ...[...slow.text.matchAll(/opened (\d+)/g)].map((m) => Number(m[1])));
    await slow.until('1000 slow connections tried', () => (opened() >= 1000 ? true : undefined), 30_000);
    await mailer.logs.waitFor(/Connection from [\d.]+ closed at once: 64 connections open from [\d.]+ \(--max-connections-per-peer\)/, 10_000);
    const from = mailer.logs.mark();
    // Waiting before the sender starts, so each line's time is when it arrived.
    const lines = Array.from({ length: 10 }, (_, k) =>
      mailer.logs.waitFor(new RegExp(k % 2 ? `Sending email: To: admin@work  Message: real-${k}$` : `Sending email: To: admin@work Message: real-${k}$`, 'm'), 40_000, from),
    );
    for (const line of lines) line.catch(() => {}); // the first one awaited reports a miss
    const sender = await nodeContainer(net, cleanup, 'sender', REAL_SENDER, ['insidemailer', '10']);
    await sender.waitFor(/sender done/, 30_000);
    const late: string[] = [];
    const landed: number[] = [];
    for (const [k, line] of lines.entries()) {
      const sentAt = Number(new RegExp(`sent ${k} (\\d+)`).exec(sender.text)?.[1]);
      const { at } = await line;
      landed.push(at - sentAt);
      if (at - sentAt >= 2_000) late.push(`${k % 2 ? 'raw' : 'JSON'} alert ${k} after ${at - sentAt} ms`);
    }
    t.diagnostic(`landed after (ms): ${landed.join(', ')}`);
    assert.deepEqual(late, [], `late: ${late.join('; ')}`);
    assert.match(slow.text, /slow: open \d+ opened \d+ closed [1-9]/, 'the mailer closed slow connections');
  });

  test('a raw sender dripping a byte every 100 ms is cut off three idle timeouts after its first byte', { timeout: 60_000 }, async () => {
    const mailer = await startMailer(net, cleanup, { aliases: ['drip'], args: ['--idle-timeout', '500ms'] });
    const host = mailer.container.getHost();
    const port = mailer.container.getMappedPort(33333);
    const text = `To: admin@work  Message: ${'d'.repeat(100)}`;
    const from = mailer.logs.mark();
    const { firstAt, closedAt } = await new Promise<{ firstAt: number; closedAt: number }>((resolve) => {
      const socket = connect({ host, port });
      let firstAt = 0;
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        firstAt = performance.now();
        socket.write(text[i++]!);
        timer = setInterval(() => socket.write(text[i++ % text.length]!), 100);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ firstAt, closedAt: performance.now() });
      });
    });
    const ms = closedAt - firstAt;
    assert.ok(ms >= 1_400 && ms < 2_200, `closed ${Math.round(ms)} ms after the first byte (deadline 1500 ms)`);
    await mailer.logs.waitFor(/Refused raw alert from [^\n]+: message not complete within 1500ms of its first byte; connection reset/, 5_000, from);
    assert.doesNotMatch(mailer.logs.text.slice(from), /Sending email: To: admin@work {2}Message: d/);
  });

  test('out of file descriptors: warned at start, connections closed by the system, the mailer survives and a real alert lands', { timeout: 60_000 }, async () => {
    const name = uniqueName('emfile-mailer');
    cleanup.names(name);
    await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), '--ulimit', 'nofile=64:64', IMAGES.mailer,
      '--max-connections', '1000', '--max-connections-per-peer', '1000']);
    const { logs, stop } = followDockerLogs(name);
    cleanup.defer(`stop following ${name}`, stop);
    await logs.waitFor(/--max-connections 1000 is over half the open-file limit \(64\)/, 15_000);
    await logs.waitFor(MAILER_STARTED, 15_000);
    const host = await containerIp(name);
    const sockets: Socket[] = [];
    let closed = 0;
    try {
      for (let i = 0; i < 120; i++) {
        const s = connect({ host, port: 33333 });
        s.on('error', () => {});
        s.on('close', () => closed++);
        sockets.push(s);
      }
      // 64 descriptors cannot hold 120 connections: the rest are closed for the mailer, which stays up.
      await waitUntil('connections closed for want of descriptors', () => (closed >= 120 - 64 ? true : undefined), 10_000);
    } finally {
      for (const s of sockets) s.destroy();
    }
    assert.doesNotMatch(logs.text, /Cannot listen/);
    const from = logs.mark();
    // The mailer frees its descriptors as it sees the closes; until then the system resets new connections.
    const posted = await waitUntil('the POST taken once descriptors are free', async () => {
      const r = await http('POST', `http://${host}:33333/alerts`, { to: 'admin@work', message: 'after EMFILE' }).catch(() => undefined);
      return r?.status === 202 ? r : undefined;
    }, 5_000, 100);
    assert.equal(posted.status, 202, posted.text);
    await logs.waitFor(/Sending email: To: admin@work Message: after EMFILE/, 5_000, from);
  });
});
