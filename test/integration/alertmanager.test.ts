/**
 * The book's scene with the REAL Prometheus Alertmanager as the mailer's
 * channel: nginx (insideweb), the ch2/mailer image (insidemailer) with
 * `--notify alertmanager://<gateway>:<port>`, and the ch2/agent image with the
 * book's defaults (http://insideweb:80/ once a second). Alertmanager is
 * Debian's prometheus-alertmanager on this host (test/support/alertmanager.ts,
 * as in test/process/alertmanager.test.ts), listening on the test network's
 * gateway address: that is the host itself on docker's bridge, the address by
 * which the mailer container reaches it.
 *
 * `docker stop` of the web container makes an active TargetDown alert for the
 * agent's target appear in Alertmanager's GET /api/v2/alerts; `docker start`
 * of the same container resolves it (Alertmanager lists only unresolved
 * alerts, and without the mailer's up the alert would stay active for 4 × the
 * channel's 1 min repeat). Both times are measured and printed; the bound is
 * 5 s, for one check a second (2 s check timeout) and one POST each way
 * (measured here: active 0.35-0.5 s after `docker stop` began, resolved
 * 0.7-0.75 s after `docker start` began).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startAlertmanager, type AmAlert } from '../support/alertmanager.ts';
import { Cleanup, dockerOk, startAgent, startMailer, startNetwork, startNginx, waitUntil } from './helpers.ts';

/** The agent names a target given by its URL by the URL as written: the book's default. */
const TARGET = 'http://insideweb:80/';
/** From `docker stop`/`docker start` returning to the alert active/resolved in Alertmanager. */
const BOUND_MS = 5_000;

describe('Alertmanager: docker stop web fires an alert in the real Alertmanager, docker start web resolves it', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('docker stop web: an active TargetDown alert for http://insideweb:80/ within a few seconds; docker start web: resolved', { timeout: 100_000 }, async (t) => {
    const net = await startNetwork(cleanup);
    const gateway = (await dockerOk(['network', 'inspect', net.getId(), '-f', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/, `the network's gateway: ${gateway}`);
    const am = await startAlertmanager(gateway);
    cleanup.defer('stop Alertmanager', () => am.stop());

    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--notify', `alertmanager://${gateway}:${am.port}`] });
    const agent = await startAgent(net, cleanup);
    const webName = web.container.getName().replace(/^\//, '');
    const explain = (err: unknown): Error =>
      new Error(`${(err as Error).message}\nmailer:\n${mailer.logs.tail()}\nagent:\n${agent.logs.tail(10)}\nAlertmanager:\n${am.output().split('\n').slice(-10).join('\n')}`, { cause: err });

    assert.deepEqual(await am.alertsFor(TARGET), [], 'no alert while the site is up');

    const stopping = Date.now();
    await dockerOk(['stop', webName], { timeoutMs: 20_000 });
    const stopped = Date.now();
    let alert: AmAlert;
    try {
      [alert] = (await waitUntil(`an active alert for the target in Alertmanager, ${BOUND_MS} ms after docker stop web returned`, async () => {
        const found = await am.alertsFor(TARGET);
        return found.length > 0 ? found : undefined;
      }, BOUND_MS)) as [AmAlert];
    } catch (err) {
      throw explain(err);
    }
    const fired = Date.now();
    t.diagnostic(`active in Alertmanager ${fired - stopping} ms after docker stop web began (${fired - stopped} ms after it returned)`);
    assert.deepEqual(alert.labels, { alertname: 'TargetDown', target: TARGET, instance: 'insideweb:80' });
    assert.equal(alert.status.state, 'active');
    assert.equal(alert.annotations.summary, `${TARGET} — The service is down!`);
    assert.match(alert.annotations.incident ?? '', /^inc-/, "the agent's incident id came along");
    assert.ok(Date.parse(alert.endsAt) > Date.now(), 'endsAt is in the future while it is down');

    const starting = Date.now();
    await dockerOk(['start', webName], { timeoutMs: 20_000 });
    const started = Date.now();
    try {
      await waitUntil('the alert resolved in Alertmanager', async () => ((await am.alertsFor(TARGET)).length === 0 ? true : undefined), BOUND_MS);
    } catch (err) {
      throw explain(err);
    }
    const resolved = Date.now();
    t.diagnostic(`resolved in Alertmanager ${resolved - starting} ms after docker start web began (${resolved - started} ms after it returned)`);
    await agent.logs.waitFor(/Alert: http:\/\/insideweb:80\/ is up \(down for [^)]+\); telling the mailer\./, 5_000);
    assert.equal(mailer.logs.count(/Message: The service is down!\n/), 1, 'one down alert for the one outage');
  });
});
