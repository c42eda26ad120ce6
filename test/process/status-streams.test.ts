/**
 * The mailer bundle's status-page event streams (GET /api/v1/events) against
 * its connection limits. Behind a reverse proxy every page is one peer: an
 * open stream no longer counts against --max-connections-per-peer, so pages
 * held open through one address leave its alerts room; the streams have caps
 * of their own (32 from one address, 503 past it).
 */
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { type Running, startMailer } from '../support/process.ts';

const PER_PEER = 8;
let mailer: Running;
let port = 0;
const open: IncomingMessage[] = [];

before(async () => {
  const started = await startMailer(['--max-connections-per-peer', String(PER_PEER)]);
  mailer = started;
  port = started.port;
});
after(async () => {
  for (const res of open) res.destroy();
  await mailer.stop();
});

/** Open a stream from `localAddress` on its own connection: its status and, for a 200, once its hello came; the body of another. */
function stream(localAddress = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/api/v1/events', agent: false, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      if (res.statusCode === 200) open.push(res);
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.statusCode === 200 && body.includes('event: hello')) resolve({ status: 200, body });
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function alert(message: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', body: JSON.stringify({ message }), headers: { 'content-type': 'application/json' } });
  await res.arrayBuffer();
  return res.status;
}

test('streams held open from one address (a reverse proxy) do not lock out its alerts; 32 streams from one address at most', { timeout: 30_000 }, async () => {
  for (let n = 0; n < PER_PEER; n++) assert.equal((await stream()).status, 200, `stream ${n + 1}`);
  assert.equal(await alert('through the proxy, with its pages open'), 202, `an alert beside ${PER_PEER} streams (--max-connections-per-peer ${PER_PEER})`);
  await mailer.waitFor(/Sending email: To: admin@work Message: through the proxy, with its pages open/);
  for (let n = PER_PEER; n < 32; n++) assert.equal((await stream()).status, 200, `stream ${n + 1}`);
  const refused = await stream();
  assert.equal(refused.status, 503);
  assert.match(refused.body, /at most 32 event streams at once from one address/);
  assert.equal(await alert('still through'), 202, 'an alert beside 32 streams');
  // Another address has streams of its own.
  assert.equal((await stream('127.0.0.2')).status, 200);
});
