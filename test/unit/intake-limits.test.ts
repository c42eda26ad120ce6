/**
 * The shared port in this process: connections over --max-connections-per-peer
 * or --max-connections are closed at once (and the slots come back when they
 * close), and an accept error once listening is logged, not fatal.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { connect, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import type { Logger } from '../../shared/logger.ts';
import type { Admissions } from '../../mailer/intake/admission.ts';
import { ConnectionLimits } from '../../mailer/intake/connection-limits.ts';
import { createIntake } from '../../mailer/intake/intake.ts';

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, output() {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
const admissions = { reject() {}, admitRaw: async () => ({ ok: true, id: 'x', duplicate: false }) } as unknown as Admissions;
const servers: Server[] = [];
const clients: Socket[] = [];
after(() => {
  for (const c of clients) c.destroy();
  for (const s of servers) s.close();
});

async function intake(maxConnections: number, maxConnectionsPerPeer: number): Promise<{ server: Server; port: number }> {
  const limits = new ConnectionLimits({ maxConnections, maxPerPeer: maxConnectionsPerPeer, log });
  const server = createIntake({ http: createHttpServer(), admissions, log, maxBytes: 65536, idleTimeoutMs: 5000, raw: true, limits });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Open a connection; resolves 'closed' if the server closes it within 300 ms, else 'open'. */
function open(port: number): Promise<'open' | 'closed'> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    clients.push(s);
    const timer = setTimeout(() => resolve('open'), 300);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

test('a peer over --max-connections-per-peer is closed at once, with a warning; a closed slot is free again', async () => {
  const { port } = await intake(100, 2);
  const before = warnings.length;
  assert.deepEqual(await Promise.all([open(port), open(port)]), ['open', 'open']);
  assert.equal(await open(port), 'closed');
  assert.match(warnings.slice(before).join('\n'), /closed at once: 2 connections open from 127\.0\.0\.1 \(--max-connections-per-peer\)/);
  clients.splice(0).forEach((c) => c.destroy());
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await open(port), 'open');
});

test('over --max-connections in all, a connection is closed at once', async () => {
  const { port } = await intake(1, 10);
  assert.equal(await open(port), 'open');
  assert.equal(await open(port), 'closed');
});

test('an accept error once listening (EMFILE) is logged and the server keeps accepting', async () => {
  const { server, port } = await intake(10, 10);
  const before = warnings.length;
  server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
  assert.match(warnings.slice(before).join('\n'), /Cannot accept a connection: EMFILE \(out of file descriptors: lower --max-connections or raise the open-file limit\); still listening\./);
  assert.ok(server.listening);
  assert.equal(await open(port), 'open');
});
