/**
 * One outage is one incident across the agent-to-channel seam, on the
 * images: nginx (insideweb), the ch2/mailer image with a PagerDuty channel
 * (`--notify pagerduty://KEY?api=…`) and a webhook, both pointed at receivers
 * in this test process on the docker network's gateway (the host, as the
 * mailer container reaches it: test/support/pagerduty-fake.ts checks each
 * request as PagerDuty's Events API v2 documents it), and the ch2/agent image
 * at its default thresholds (--failure-threshold 2) with reminders every
 * second.
 *
 * `docker stop` of the web container: PagerDuty gets a trigger, the webhook
 * the down and a reminder; `docker start`: PagerDuty gets the resolve, the
 * webhook the up. The trigger and the resolve name one dedup_key, the very
 * incident id the webhook sees on the down, on every reminder and on the up
 * (PagerDuty gets no reminder: a reminder would re-open what someone resolved
 * there). Before the agent owned one id per outage, a down at threshold 2
 * carried another id than its reminders and its up, and the resolve named a
 * dedup_key never triggered.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Receiver } from '../support/http-receiver.ts';
import { startPagerDutyFake } from '../support/pagerduty-fake.ts';
import { Cleanup, dockerOk, startAgent, startMailer, startNetwork, startNginx, waitUntil } from './helpers.ts';

const KEY = '0123456789abcdef0123456789abcdef';
const TARGET = 'http://insideweb:80/';

interface Record_ {
  id: string;
  status: 'down' | 'up';
  target?: string;
  incident?: string;
  reminder?: number;
}

describe('PagerDuty and a webhook at default thresholds with reminders: one outage, one dedup_key, one incident id', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('docker stop web, a reminder, docker start web: trigger and resolve share one dedup_key, the webhook sees that one incident id throughout', { timeout: 120_000 }, async () => {
    const net = await startNetwork(cleanup);
    const gateway = (await dockerOk(['network', 'inspect', net.getId(), '-f', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/, `the network's gateway: ${gateway}`);
    const pd = await startPagerDutyFake(gateway);
    cleanup.defer('stop the PagerDuty fake', () => pd.close());
    const hook = new Receiver();
    await hook.listen(gateway);
    cleanup.defer('stop the webhook receiver', () => hook.close());

    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--notify', `pagerduty://${KEY}?api=${pd.base}`, '--webhook', `${hook.base}/hook`] });
    const agent = await startAgent(net, cleanup, { args: ['--remind-every', '1s', '--max-reminders', '3'] });
    const webName = web.container.getName().replace(/^\//, '');
    const records = (): Record_[] => hook.hits.filter((h) => h.path === '/hook').map((h) => JSON.parse(h.body) as Record_).filter((r) => r.target === TARGET);
    const events = (action: string) => pd.requests.filter((r) => r.event?.event_action === action);
    const explain = (err: unknown): Error =>
      new Error(`${(err as Error).message}\nmailer:\n${mailer.logs.tail()}\nagent:\n${agent.logs.tail(10)}\nPagerDuty got:\n${pd.requests.map((r) => r.body).join('\n')}`, { cause: err });

    try {
      await dockerOk(['stop', webName], { timeoutMs: 20_000 });
      await waitUntil('a trigger in PagerDuty', () => (events('trigger').length > 0 ? true : undefined), 10_000);
      await waitUntil('a reminder at the webhook', () => (records().some((r) => r.reminder !== undefined) ? true : undefined), 10_000);
      await dockerOk(['start', webName], { timeoutMs: 20_000 });
      await waitUntil('a resolve in PagerDuty', () => (events('resolve').length > 0 ? true : undefined), 20_000);
      await waitUntil('the up at the webhook', () => (records().some((r) => r.status === 'up') ? true : undefined), 10_000);
    } catch (err) {
      throw explain(err);
    }

    assert.deepEqual(pd.requests.filter((r) => r.errors.length > 0).map((r) => r.errors), [], 'every request is a valid Events API v2 event');
    assert.equal(events('trigger').length, 1, 'one trigger: reminders re-trigger nothing');
    assert.equal(events('resolve').length, 1, 'one resolve');
    const [trigger] = events('trigger');
    const [resolve] = events('resolve');
    assert.equal(trigger!.event!.routing_key, KEY);
    assert.equal(resolve!.event!.dedup_key, trigger!.event!.dedup_key, 'the resolve names the dedup_key its trigger opened');

    const seen = records();
    const down = seen.filter((r) => r.status === 'down' && r.reminder === undefined);
    const reminders = seen.filter((r) => r.reminder !== undefined);
    const up = seen.filter((r) => r.status === 'up');
    assert.equal(down.length, 1, 'one down');
    assert.ok(reminders.length >= 1, 'at least one reminder');
    assert.equal(up.length, 1, 'one up');
    const ids = new Set(seen.map((r) => r.incident));
    assert.deepEqual([...ids], [trigger!.event!.dedup_key], `one incident id on the down, every reminder and the up, and it is PagerDuty's dedup_key: ${JSON.stringify(seen.map((r) => [r.status, r.reminder, r.incident]))}`);
    assert.match(trigger!.event!.dedup_key, /^inc-/, "the agent's incident id");
  });
});
