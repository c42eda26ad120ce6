/**
 * Several mailers (--mailer m1,m2), from the built agent bundle: with the
 * first mailer gone, alerts and reports go to the second (a mailer bundle)
 * with one line; with the first answering 503 (a fake mailer on node:http),
 * the alert goes to the second under the same id, and once the first
 * answers again the agent comes back to it, with one line each way.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { freePort, start, startMailer } from '../support/process.ts';
import { BATCH_ALERTS_PATH } from '../../shared/wire-batch.ts';
import { REPORTS_PATH } from '../../shared/wire-report.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A fake mailer: `status()` to alert batches and reports; the alert ids and report counts it was sent. */
async function fakeMailer(status: () => number) {
  const ids: string[] = [];
  let reports = 0;
  const port = await listen(
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const code = req.method === 'HEAD' ? 200 : status();
        if (req.url === BATCH_ALERTS_PATH) for (const a of JSON.parse(Buffer.concat(chunks).toString()) as Array<{ id: string }>) ids.push(a.id);
        if (req.url === REPORTS_PATH) reports += 1;
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(code === 202 ? '{}' : '{"error":"store busy"}');
      });
    }),
  );
  return { port, ids, reports: () => reports };
}

/** A site that is up (200) or down (503) as the test says. */
async function site() {
  const state = { up: false };
  const port = await listen(createServer((_req, res) => res.writeHead(state.up ? 200 : 503).end()));
  return { url: `http://127.0.0.1:${port}/`, state };
}

test('the first mailer gone: the alert and the reports go to the second (a mailer bundle), with one failover line', async () => {
  const gone = await freePort();
  const mailer = await startMailer();
  const web = await site();
  const agent = start('agent', ['--target', web.url, '--mailer', `127.0.0.1:${gone},127.0.0.1:${mailer.port}`, '--interval', '200ms', '--report-every', '1s', '--agent-name', 'failover-agent']);
  try {
    await agent.waitFor(new RegExp(`Mailer unreachable at 127\\.0\\.0\\.1:${gone}: connection refused; alerts go to the other mailers meanwhile\\.`));
    await mailer.waitFor(/Sending email: To: admin@work Message: The service is down!/);
    await agent.waitFor(new RegExp(`Failing over: mailer unreachable at 127\\.0\\.0\\.1:${gone}: connection refused; alerts and reports now go to the mailer at 127\\.0\\.0\\.1:${mailer.port}\\.`));
    const listed = async (): Promise<boolean> => ((await (await fetch(`http://127.0.0.1:${mailer.port}/api/v1/agents`)).json()) as Array<{ name: string }>).some((a) => a.name === 'failover-agent');
    const deadline = Date.now() + 5000;
    while (!(await listed())) {
      assert.ok(Date.now() < deadline, 'the reports reach the second mailer');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(agent.output().match(/Failing over/g)?.length, 1, agent.output());
    assert.doesNotMatch(agent.output(), /retrying in/, 'no backoff: the second mailer took the alert at once');
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});

test('the first mailer answering 503: the alert goes to the second under the same id; the agent comes back to the first once it answers', async () => {
  let firstUp = false;
  const first = await fakeMailer(() => (firstUp ? 202 : 503));
  const second = await fakeMailer(() => 202);
  const web = await site();
  const agent = start('agent', ['--target', web.url, '--mailer', `127.0.0.1:${first.port},http://127.0.0.1:${second.port}`, '--interval', '200ms', '--report-every', '1s']);
  try {
    await agent.waitFor(new RegExp(`Failing over: 127\\.0\\.0\\.1:${first.port}: mailer answered 503: store busy; alerts and reports now go to the mailer at 127\\.0\\.0\\.1:${second.port}\\.`));
    await agent.waitFor(/Alert: .* is down/);
    const deadline = Date.now() + 5000;
    while (second.ids.length === 0) {
      assert.ok(Date.now() < deadline, 'the down alert reaches the second mailer');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(first.ids.length >= 1, 'the first mailer was tried');
    assert.equal(second.ids[0], first.ids[0], 'the same alert id at both mailers');
    firstUp = true;
    const failedOverAt = Date.now();
    // The first mailer's hold is a few seconds at most here (1 s, then 2 s): the up, after it, goes there again.
    await new Promise((r) => setTimeout(r, 4000));
    web.state.up = true;
    await agent.waitFor(/Alert: .* is up/);
    const upDeadline = Date.now() + 2000;
    while (first.ids.length < 2 || first.ids.at(-1) === first.ids[0]) {
      assert.ok(Date.now() < upDeadline, `the up alert goes to the first mailer again (first ${first.ids}, second ${second.ids})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(second.ids.length, 1, 'the up did not go to the second');
    // One line each way: the way back at the end of the failover line's 10 s at the latest.
    await agent.waitFor(new RegExp(`The mailer at 127\\.0\\.0\\.1:${first.port} answers again; alerts and reports go back to it\\.`), Math.max(1, failedOverAt + 10_500 - Date.now()));
    assert.equal(agent.output().match(/Failing over|answers again/g)?.length, 2, agent.output());
  } finally {
    await agent.stop();
  }
});
