/**
 * The incident ledger on the images: two agents watch one site; it goes down
 * (one down e-mail: the second agent's down joins the incident), one agent is
 * restarted while the other still sees it down: no up is sent, the target
 * stays down. Then a killed agent: with --agent-silence 3s, the target that
 * only it watched is `stale` in GET /api/v1/status within the silence (and a
 * report interval), saying why.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cleanup, dockerOk, startAgent, startMailer, startNetwork, startNginx, waitUntil } from './helpers.ts';

const TARGET = 'http://insideweb:80/';

describe('the incident ledger on the images', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('two agents on one target, one restarted while the other sees it down: one down, no up, the target stays down; killed, both: stale within --agent-silence', { timeout: 150_000 }, async () => {
    const net = await startNetwork(cleanup);
    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--agent-silence', '3s'] });
    const api = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    const a = await startAgent(net, cleanup, { args: ['--report-every', '1s', '--agent-name', 'east'] });
    const b = await startAgent(net, cleanup, { args: ['--report-every', '1s', '--agent-name', 'west'] });
    await mailer.logs.waitFor(/agent west reports /, 15_000);
    const status = async (): Promise<{ state: string; staleWhy?: string } | undefined> => {
      const view = (await (await fetch(`${api}/api/v1/status`)).json()) as { targets: Array<{ name: string; state: string; staleWhy?: string }> };
      return view.targets.find((t) => t.name === TARGET);
    };
    const from = mailer.logs.mark();
    await dockerOk(['stop', web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000, from);
    await mailer.logs.waitFor(/held back from the channels: joins incident/, 15_000, from);
    // east restarts (a new instance) and comes back while west still sees the site down.
    const restarted = mailer.logs.mark();
    await dockerOk(['restart', '-t', '10', a.container.getId()], { timeoutMs: 30_000 });
    await mailer.logs.waitFor(/agent east restarted/, 15_000, restarted);
    await new Promise((r) => setTimeout(r, 3000)); // three more reports of each (an absence can only be waited for)
    assert.equal((mailer.logs.text.match(/Sending email: To: admin@work Message: The service is down!/g) ?? []).length, 1, 'one down');
    assert.doesNotMatch(mailer.logs.text, /is up again|The service is back up/, 'no up');
    assert.equal((await status())?.state, 'down');
    // Both agents killed: the target no live agent watches is stale within the silence.
    const killedAt = Date.now();
    await dockerOk(['kill', a.container.getId()], { timeoutMs: 20_000 });
    await dockerOk(['kill', b.container.getId()], { timeoutMs: 20_000 });
    const stale = await waitUntil('the target stale', async () => ((await status())?.state === 'stale' ? await status() : undefined), 3000 + 4000, 100);
    console.log(`  stale ${Date.now() - killedAt} ms after docker kill (silence 3000 ms)`);
    assert.match(stale.staleWhy ?? '', /has not reported within its silence/);
    assert.doesNotMatch(mailer.logs.text, /is up again|The service is back up/, 'still no up');
  });
});
