/**
 * One incident across two mailers on one Postgres database (the postgres:15
 * image as `db`), each with the same PagerDuty channel (`--notify
 * pagerduty://KEY?api=…`, test/support/pagerduty-fake.ts on the docker
 * network's gateway, checking each request as the Events API v2 documents
 * it): the nflog is the database's, so an up that reaches another mailer
 * than its down still resolves what the down triggered, and nothing told is
 * told again.
 *
 * 1. A down (an agent's: `agent` and `instance` named, so the hub's ledger
 *    judges it) POSTed to mailer A, delivered; its up (same incident,
 *    another id) POSTed to mailer B: PagerDuty gets exactly one trigger and
 *    one resolve, with one dedup_key. Before the shared nflog, B's hub held
 *    the up ("its down was not told") and, past the hub, B's told stage
 *    skipped it ("its down was never sent on this channel"): no resolve.
 *    (PagerDuty being rate-limited, one mailer owns it and sends for both,
 *    destination-owner.ts: the up may be handed over to A, which sends it.)
 * 2. The agent's own failover: nginx, and the ch2/agent image with
 *    `--mailer ma:33333,mb:33333`. `docker stop` nginx: the down goes to A
 *    (the first) and triggers (sent by A, or handed to B if B owns
 *    PagerDuty); `docker kill` A; `docker start` nginx: the up
 *    can only go through B, and PagerDuty gets its one resolve, on the
 *    trigger's dedup_key; no second trigger.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type PagerDutyFake, startPagerDutyFake } from '../support/pagerduty-fake.ts';
import { Cleanup, containerIp, dockerOk, http, startAgent, startMailer, startNetwork, startNginx, type Started, type StartedNetwork, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const KEY = '0123456789abcdef0123456789abcdef';

describe('two mailers on one Postgres database, one PagerDuty channel: an up at the other mailer resolves its down', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let pg: PostgresServer;
  let pd: PagerDutyFake;
  const mailers: Started[] = [];
  const urls: string[] = [];

  const events = (action: string, key?: string) => pd.requests.filter((r) => r.event?.event_action === action && (key === undefined || r.event.dedup_key === key));
  const delivered = async (id: string): Promise<boolean> =>
    (await pg.sql<{ state: string }>('incident', 'SELECT state FROM deliveries WHERE alert_id = $1', [id])).some((r) => r.state === 'delivered');
  const explain = (err: unknown, more = ''): Error =>
    new Error(`${(err as Error).message}\n${mailers.map((m, i) => `mailer ${'AB'[i]}:\n${m.logs.tail(15)}`).join('\n')}${more}\nPagerDuty got:\n${pd.requests.map((r) => r.body).join('\n')}`, { cause: err });

  before(async () => {
    net = await startNetwork(cleanup);
    const gateway = (await dockerOk(['network', 'inspect', net.getId(), '-f', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/, `the network's gateway: ${gateway}`);
    pd = await startPagerDutyFake(gateway);
    cleanup.defer('stop the PagerDuty fake', () => pd.close());
    pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('incident');
    for (const alias of ['ma', 'mb']) {
      const m = await startMailer(net, cleanup, { aliases: [alias], args: ['--store', pg.url('incident', 'postgres', 'db:5432'), '--notify', `pagerduty://${KEY}?api=${pd.base}`] });
      mailers.push(m);
      urls.push(`http://${await containerIp(m.container.getName().replace(/^\//, ''))}:33333`);
    }
  }, { timeout: 120_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  test('a down POSTed to mailer A and delivered, its up to mailer B: one trigger, one resolve, one dedup_key', async () => {
    const incident = `inc-${randomUUID()}`;
    const target = 'http://cluster-web.example/';
    const alert = { to: 'admin@work', target, incident, agent: 'probe-1', instance: 'probe-1-instance' };
    const downId = randomUUID();
    const upId = randomUUID();
    try {
      assert.equal((await http('POST', `${urls[0]}/alerts`, { ...alert, id: downId, status: 'down', message: 'cluster-web is down' })).status, 202);
      await waitUntil('the down delivered by mailer A', async () => ((await delivered(downId)) ? true : undefined), 15_000, 100);
      assert.equal((await http('POST', `${urls[1]}/alerts`, { ...alert, id: upId, status: 'up', message: 'cluster-web is up' })).status, 202);
      await waitUntil('a resolve in PagerDuty', () => (events('resolve', incident).length > 0 ? true : undefined), 15_000, 100);
      // The up's other states are settled too (nothing is left owed that could go again).
      await waitUntil('the up delivered by mailer B', async () => ((await delivered(upId)) ? true : undefined), 5_000, 100);
    } catch (err) {
      throw explain(err);
    }
    assert.deepEqual(pd.requests.filter((r) => r.errors.length > 0).map((r) => r.errors), [], 'every request is a valid Events API v2 event');
    assert.equal(events('trigger', incident).length, 1, 'one trigger');
    assert.equal(events('resolve', incident).length, 1, 'one resolve');
    assert.equal(events('trigger', incident)[0]!.event!.routing_key, KEY);
    // PagerDuty is rate-limited: one of the two sends it for both (mailer/delivery/destination-owner.ts), B or A by hand-over.
    assert.equal(mailers.filter((m) => new RegExp(`Delivered alert ${upId} via pagerduty`).test(m.logs.text)).length, 1, 'one mailer delivered the up');
  });

  test("the agent's failover: down at A, A killed, the up through B resolves the trigger once", { timeout: 120_000 }, async () => {
    const web = await startNginx(net, cleanup, 'clusterweb');
    const agent = await startAgent(net, cleanup, { args: ['--mailer', 'ma:33333,mb:33333', '--target', 'http://clusterweb:80/', '--interval', '1s'] });
    const webName = web.container.getName().replace(/^\//, '');
    const aName = mailers[0]!.container.getName().replace(/^\//, '');
    const ours = () => pd.requests.filter((r) => r.event && JSON.stringify(r.event).includes('clusterweb'));
    const keyOf = () => ours().find((r) => r.event!.event_action === 'trigger')?.event?.dedup_key;
    const fromA = mailers[0]!.logs.mark();
    const fromB = mailers[1]!.logs.mark();
    const deliveredBy = (i: number, from: number): number => mailers[i]!.logs.text.slice(from).match(/Delivered alert \S+ via pagerduty/g)?.length ?? 0;
    try {
      await dockerOk(['stop', webName], { timeoutMs: 20_000 });
      const key = await waitUntil('a trigger in PagerDuty', () => keyOf(), 20_000, 100);
      // Told once: by A, or by B when B sends PagerDuty for both (a rate-limited channel's owner, destination-owner.ts).
      await waitUntil('a mailer to log the down delivered', () => (deliveredBy(0, fromA) + deliveredBy(1, fromB) > 0 ? true : undefined), 5_000, 50);
      const downByB = deliveredBy(1, fromB);
      assert.equal(deliveredBy(0, fromA) + downByB, 1, 'the down told once');
      await dockerOk(['kill', '-s', 'KILL', aName]);
      await dockerOk(['start', webName], { timeoutMs: 20_000 });
      await waitUntil('a resolve in PagerDuty', () => (events('resolve', key).length > 0 ? true : undefined), 40_000, 100);
      assert.equal(events('trigger', key).length, 1, 'one trigger');
      assert.equal(events('resolve', key).length, 1, 'one resolve');
      await waitUntil('mailer B to log the up delivered', () => (deliveredBy(1, fromB) > downByB ? true : undefined), 5_000, 50);
      assert.equal(deliveredBy(1, fromB), downByB + 1, 'mailer B told the up');
      assert.equal(ours().filter((r) => r.event!.event_action === 'trigger').length, 1, 'no other trigger for the target');
    } catch (err) {
      throw explain(err, `\nagent:\n${agent.logs.tail(15)}`);
    }
  });
});
