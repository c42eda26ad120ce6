/**
 * An incident its agent can no longer close, on the images: the site goes
 * down (the agent's down alert opens an incident), the agent is killed while
 * it is down (its up can never come), the site comes back and the agent is
 * started again. Its new instance reports the target up, and the hub closes
 * the incident with a recovery alert of its own through every channel: the
 * "back up" e-mail that the book's `docker restart` sequence used to lose.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cleanup, dockerOk, startAgent, startMailer, startNetwork, startNginx, waitUntil } from './helpers.ts';

describe('the hub closes an incident its restarted agent cannot', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('down alert, docker kill agent, web back, agent started: one recovery alert, the incident closed', { timeout: 120_000 }, async () => {
    const net = await startNetwork(cleanup);
    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup);
    const agent = await startAgent(net, cleanup, { args: ['--report-every', '1s', '--agent-name', 'watcher'] });
    const api = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    await mailer.logs.waitFor(/agent watcher reports /, 10_000);
    const from = mailer.logs.mark();
    await dockerOk(['stop', web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000, from);
    await dockerOk(['kill', agent.container.getId()], { timeoutMs: 20_000 });
    const open = (await (await fetch(`${api}/api/v1/incidents?state=open`)).json()) as Array<{ id: string; target: string }>;
    assert.equal(open.length, 1, 'one open incident');
    await dockerOk(['start', web.container.getId()], { timeoutMs: 20_000 });
    const restarted = mailer.logs.mark();
    await dockerOk(['start', agent.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/agent watcher restarted/, 15_000, restarted);
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: http:\/\/insideweb:80\/ is up again \(agent watcher reports it up; the agent that saw it go down restarted\)\./, 15_000, restarted);
    const closed = await waitUntil('the incident closed', async () => {
      const list = (await (await fetch(`${api}/api/v1/incidents?state=closed`)).json()) as Array<{ id: string; resolvedAt?: string; events: Array<{ kind: string }> }>;
      return list.find((i) => i.id === open[0]!.id);
    }, 5000, 100);
    assert.ok(closed.resolvedAt);
    assert.ok(closed.events.some((e) => e.kind === 'resolved'));
    assert.deepEqual(await (await fetch(`${api}/api/v1/incidents?state=open`)).json(), []);
    // One recovery only: a second report of the new instance sends none.
    await new Promise((r) => setTimeout(r, 2500)); // two more reports (an absence can only be waited for)
    const ups = mailer.logs.text.match(/is up again \(agent watcher/g) ?? [];
    assert.equal(ups.length, 1, 'one recovery alert');
  });
});
