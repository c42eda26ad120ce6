/**
 * The HTTP intake in this process, behind a plain TCP server as the mailer's
 * shared port hands it connections: kept-alive requests do not pile up
 * listeners on their socket, GET /alerts without ?state= lists the pending
 * alerts, and without a token GET /alerts answers loopback peers only (a non-loopback peer is this machine's own non-loopback address).
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createServer, type Server, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, test } from 'node:test';
import type { Logger } from '../../shared/logger.ts';
import type { Admissions } from '../../mailer/intake/admission.ts';
import { createHttpServer } from '../../mailer/http/http-server.ts';
import type { Store } from '../../mailer/store/store.ts';

const silent: Logger = { debug() {}, info() {}, output() {}, warn() {}, error() {} };
const refusals: string[] = [];
const admissions = { reject: (_via: string, _peer: string, error: string) => void refusals.push(error) } as unknown as Admissions;
const store = { list: async ({ state }: { state: string }) => ({ state, total: 0, alerts: [] }) } as unknown as Store;

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(host: string, token?: string, idleTimeoutMs = 5000): Promise<{ port: number; sockets: Socket[] }> {
  const http = createHttpServer({ maxBytes: 65536, idleTimeoutMs, admissions, store, token, log: silent, reportsPerSecond: 5, health: () => ({}) });
  const sockets: Socket[] = [];
  const tcp = createServer((socket) => {
    sockets.push(socket);
    http.emit('connection', socket);
  });
  servers.push(tcp);
  await new Promise<void>((resolve) => tcp.listen(0, host, resolve));
  return { port: (tcp.address() as { port: number }).port, sockets };
}

function get(host: string, port: number, path: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('kept-alive requests add no listener to their socket (one close listener per socket, not per request)', async () => {
  const { port, sockets } = await serve('127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await get('127.0.0.1', port, '/healthz', agent);
    const [socket] = sockets;
    assert.ok(socket);
    const after1 = socket.listenerCount('close');
    for (let i = 0; i < 40; i++) assert.equal((await get('127.0.0.1', port, '/healthz', agent)).status, 200);
    assert.equal(sockets.length, 1, 'all requests on one kept-alive connection');
    assert.equal(socket.listenerCount('close'), after1);
  } finally {
    agent.destroy();
  }
});

test('without a token, GET /alerts answers a loopback peer', async () => {
  const { port } = await serve('127.0.0.1');
  const answer = await get('127.0.0.1', port, '/alerts?state=pending');
  assert.equal(answer.status, 200, answer.body);
});

test('GET /alerts without ?state= lists the pending alerts; a state not listed is still a 400', async () => {
  const { port } = await serve('127.0.0.1');
  const plain = await get('127.0.0.1', port, '/alerts');
  assert.equal(plain.status, 200, plain.body);
  assert.equal(JSON.parse(plain.body).state, 'pending', 'the store was asked for the pending ones');
  assert.equal(JSON.parse((await get('127.0.0.1', port, '/alerts?limit=5')).body).state, 'pending');
  assert.equal((await get('127.0.0.1', port, '/alerts?state=')).status, 400);
  assert.equal((await get('127.0.0.1', port, '/alerts?state=owed')).status, 400);
});

const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

test('without a token, GET /alerts is a 403 for a non-loopback peer; with one, the token decides', { skip: outside === undefined && 'no non-loopback IPv4 address' }, async () => {
  const host = outside!;
  const open = await serve(host);
  const refused = await get(host, open.port, '/alerts?state=pending');
  assert.equal(refused.status, 403);
  assert.match(refused.body, /loopback only; start the mailer with --token/);
  assert.match(refusals.at(-1) ?? '', /non-loopback peer without --token/);
  const guarded = await serve(host, 'tok-0123456789abcdef');
  assert.equal((await get(host, guarded.port, '/alerts?state=pending')).status, 401);
});

/** Write `pieces` one every `gapMs` (each keeps the connection from being idle); the answer and when the connection closed. */
function trickle(port: number, pieces: string[], gapMs: number): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let answer = '';
    const socket = new Socket();
    let i = 0;
    const timer = setInterval(() => {
      if (i < pieces.length && socket.writable) socket.write(pieces[i++]!);
    }, gapMs);
    socket.connect(port, '127.0.0.1');
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer });
    });
  });
}

test('headers that trickle in are cut off after --idle-timeout, a body after three times that (408), though the connection is never idle', async () => {
  const IDLE = 200;
  const { port } = await serve('127.0.0.1', undefined, IDLE);
  const headerLines = Array.from({ length: 40 }, (_, i) => (i === 0 ? 'POST /alerts HTTP/1.1\r\n' : `x-slow-${i}: 1\r\n`));
  const bodyBytes = ['POST /alerts HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n', ...Array.from({ length: 60 }, () => ' ')];
  const [headers, body] = await Promise.all([trickle(port, headerLines, 50), trickle(port, bodyBytes, 50)]);
  assert.ok(headers.ms >= IDLE - 20 && headers.ms < 2 * IDLE + 300, `trickled headers closed after ${headers.ms}ms`);
  assert.equal(headers.answer, '');
  assert.ok(body.ms >= 3 * IDLE - 20 && body.ms < 4 * IDLE + 300, `trickled body closed after ${body.ms}ms`);
  assert.match(body.answer, /^HTTP\/1\.1 408 /);
  assert.match(refusals.at(-1) ?? '', /body not received within/);
});

/**
 * Send headers declaring `declared` bytes, then the body, reading nothing until it is all
 * written (as many clients do) or the write failed; what came back.
 */
function oversized(port: number, declared: number): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = new Socket();
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    let sent = 0;
    const read = (): void => {
      socket.on('data', (c: Buffer) => (answer += c.toString()));
    };
    const pump = (): void => {
      while (socket.writable && sent < declared) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      if (sent >= declared) read();
    };
    socket.connect(port, '127.0.0.1', () => {
      socket.write(`POST /alerts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`);
      pump();
    });
    socket.on('error', read);
    socket.on('close', () => resolve(answer));
  });
}

test('a sender still sending an oversized body reads its 413 (the connection is not reset under it)', async () => {
  const { port } = await serve('127.0.0.1', undefined, 300);
  for (let i = 0; i < 5; i++) {
    const answer = await oversized(port, 8 * 1024 * 1024);
    assert.match(answer, /^HTTP\/1\.1 413 /, `try ${i}: the sender got ${JSON.stringify(answer.slice(0, 60))}`);
  }
});
