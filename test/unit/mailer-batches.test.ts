/**
 * The agent's mailer link in JSON against a fake mailer on loopback: a batch
 * answered 207 says per alert what a single POST would have (kept, retry,
 * refused for good); a mailer without the batch path (404, a ch2 mailer from
 * before batches) gets the same alerts one per POST /alerts, and every
 * alert after, with one line.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createMailerClient } from '../../agent/alerting/mailer-client.ts';
import type { Alert } from '../../shared/alert.ts';
import { Receiver } from '../support/http-receiver.ts';

const receivers: Receiver[] = [];
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

const alert = (id: string): Alert => ({ id, to: 'admin@work', message: 'The service is down!', status: 'down', target: `t-${id}` });

async function fake(answer: (path: string) => [number, unknown]): Promise<Receiver> {
  const receiver = new Receiver();
  receivers.push(receiver);
  receiver.fallback = (req, res) => {
    const [status, json] = answer(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
  };
  await receiver.listen();
  return receiver;
}

const endpoint = (r: Receiver) => ({ host: '127.0.0.1', port: Number(new URL(r.base).port) });

test('a batch answered 207: each alert gets what its own status says (202 kept, 503 retry, 401 kept and retried, 400 refused for good)', async () => {
  const mailer = await fake(() => [
    207,
    {
      accepted: 1,
      refused: 3,
      results: [
        { index: 0, status: 202, id: 'a' },
        { index: 1, status: 503, error: 'cannot write the store; retry later' },
        { index: 2, status: 401, error: 'missing or wrong bearer token' },
        { index: 3, status: 400, error: 'unknown field "cc"' },
      ],
    },
  ]);
  const link = createMailerClient({ mailer: endpoint(mailer), protocol: 'json' });
  const results = await link.send(['a', 'b', 'c', 'd'].map(alert));
  assert.deepEqual(
    results.map((r) => (r.ok ? 'ok' : 'refused' in r ? `refused ${r.refused}` : r.retry ? 'retry' : 'permanent')),
    ['ok', 'retry', 'refused 401', 'permanent'],
  );
  assert.equal(mailer.hits.length, 1);
  assert.equal(mailer.hits[0]!.path, '/api/v1/alerts');
  assert.deepEqual((JSON.parse(mailer.hits[0]!.body) as Alert[]).map((a) => a.id), ['a', 'b', 'c', 'd']);
});

test('a mailer without batches (404) gets the alerts one per POST /alerts, then every alert after, with one line', async () => {
  const mailer = await fake((path) => (path === '/alerts' ? [202, { id: 'x' }] : [404, { error: `no such path: ${path}; use POST /alerts` }]));
  const lines: string[] = [];
  const link = createMailerClient({ mailer: endpoint(mailer), protocol: 'json', log: { info: (line: string) => void lines.push(line) } });
  assert.equal(link.batchLimit(), 100);
  const first = await link.send(['a', 'b', 'c'].map(alert));
  assert.ok(first.every((r) => r.ok));
  assert.equal(link.batchLimit(), 1);
  const second = await link.send([alert('d')]);
  assert.ok(second[0]!.ok);
  assert.deepEqual(mailer.hits.map((h) => h.path), ['/api/v1/alerts', '/alerts', '/alerts', '/alerts', '/alerts']);
  assert.deepEqual(mailer.hits.slice(1).map((h) => (JSON.parse(h.body) as Alert).id), ['a', 'b', 'c', 'd']);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /takes no batches \(\/api\/v1\/alerts is a 404: a ch2 mailer from before them\); sending alerts one per POST \/alerts\.$/);
});

test('the raw protocol carries one alert per connection', () => {
  const link = createMailerClient({ mailer: { host: '127.0.0.1', port: 1 }, protocol: 'raw' });
  assert.equal(link.batchLimit(), 1);
  assert.equal(link.inFlight, 1);
});
