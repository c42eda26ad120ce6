/**
 * The mailer bundle against the REAL Prometheus Alertmanager (Debian's
 * prometheus-alertmanager; scripts/alertmanager.sh installs it), started by
 * test/support/alertmanager.ts on loopback port 0 (the port read from its log),
 * no gossip, a route to a receiver that sends nothing.
 * The mailer runs with `--notify alertmanager://127.0.0.1:<port>`; a down
 * alert posted to the mailer becomes an active alert with the target's
 * labels in Alertmanager's GET /api/v2/alerts, and its up resolves it
 * (Alertmanager lists only unresolved alerts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startAlertmanager, type StartedAlertmanager } from '../support/alertmanager.ts';
import { type Running, startMailer } from '../support/process.ts';

/** How long Alertmanager and the mailer get to do what a test waits for. */
const BOUND_MS = 10_000;

let am: StartedAlertmanager | undefined;
let mailer: Running & { port: number };

/** Polls `probe` until it returns a value (not undefined), at most BOUND_MS. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${BOUND_MS}ms; mailer output:\n${mailer?.output() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const alertsFor = (target: string) => am!.alertsFor(target);

async function postToMailer(alert: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${mailer.port}/alerts`, { method: 'POST', body: JSON.stringify(alert), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202, await res.text());
}

before(async () => {
  am = await startAlertmanager('127.0.0.1', BOUND_MS);
  mailer = await startMailer(['--notify', `alertmanager://127.0.0.1:${am.port}`]);
});

after(async () => {
  await mailer?.stop();
  await am?.stop();
});

test('a down alert through the mailer is an active TargetDown alert in the real Alertmanager; its up resolves it', async () => {
  const target = 'http://web-1.test:8080/';
  const downAt = new Date(Date.now() - 1000).toISOString();
  await postToMailer({ id: 'am-down-1', to: 'admin@work', message: 'The service is down!', status: 'down', target, reason: 'connection refused', time: downAt });
  const [alert] = await eventually('no active alert for the target in Alertmanager', async () => {
    const found = await alertsFor(target);
    return found.length > 0 ? found : undefined;
  });
  assert.deepEqual(alert!.labels, { alertname: 'TargetDown', target, instance: 'web-1.test:8080' });
  assert.equal(alert!.status.state, 'active');
  assert.equal(alert!.annotations.summary, `${target} — The service is down!`);
  assert.equal(alert!.annotations.reason, 'connection refused');
  assert.equal(Date.parse(alert!.startsAt), Date.parse(downAt));
  assert.ok(Date.parse(alert!.endsAt) > Date.now(), 'endsAt is in the future while it is down');

  await postToMailer({ id: 'am-up-1', to: 'admin@work', message: 'The service is back up.', status: 'up', target, time: new Date().toISOString(), downForMs: 1000 });
  await eventually('the alert was still active in Alertmanager after its up', async () => ((await alertsFor(target)).length === 0 ? true : undefined));
});

test('the up resolves only the alert with its own labels: another target stays active', async () => {
  const [a, b] = ['http://web-2.test/', 'tcp://db.test:5432'];
  for (const [i, target] of [a, b].entries()) {
    await postToMailer({ id: `am-two-${i}`, to: 'admin@work', message: 'The service is down!', status: 'down', target, time: new Date().toISOString() });
  }
  await eventually('both alerts were not active', async () => ((await alertsFor(a)).length === 1 && (await alertsFor(b)).length === 1 ? true : undefined));
  await postToMailer({ id: 'am-two-up', to: 'admin@work', message: 'The service is back up.', status: 'up', target: a, time: new Date().toISOString() });
  await eventually(`${a} was still active after its up`, async () => ((await alertsFor(a)).length === 0 ? true : undefined));
  const [still] = await alertsFor(b);
  assert.deepEqual([still?.labels.instance, still?.status.state], ['db.test:5432', 'active']);
});
