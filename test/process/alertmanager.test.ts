/**
 * The mailer bundle against the REAL Prometheus Alertmanager (Debian's
 * prometheus-alertmanager; scripts/alertmanager.sh installs it): started on
 * loopback port 0 (the port read from its log), no gossip
 * (--cluster.listen-address=), a route to a receiver that sends nothing.
 * The mailer runs with `--notify alertmanager://127.0.0.1:<port>`; a down
 * alert posted to the mailer becomes an active alert with the target's
 * labels in Alertmanager's GET /api/v2/alerts, and its up resolves it
 * (Alertmanager lists only unresolved alerts).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Running, startMailer } from '../support/process.ts';

const BINARY = 'prometheus-alertmanager';
/** How long Alertmanager and the mailer get to do what a test waits for. */
const BOUND_MS = 10_000;

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

const dir = mkdtempSync(join(tmpdir(), 'ch2-alertmanager-'));
let am: ChildProcess | undefined;
let amExited: Promise<unknown> = Promise.resolve();
let amBase = '';
let mailer: Running & { port: number };

/** Start Alertmanager on 127.0.0.1 port 0 and resolve with the port it bound (from its "Listening on" line). */
function startAlertmanager(): Promise<number> {
  const found = spawnSync('sh', ['-c', `command -v ${BINARY}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${BINARY} is not installed: run \`bash scripts/alertmanager.sh\` (scripts/setup.sh does)`);
  writeFileSync(join(dir, 'alertmanager.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const child = spawn(
    found.stdout.trim(),
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, '--cluster.listen-address=', '--web.listen-address=127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  am = child;
  amExited = new Promise((resolve) => child.once('close', resolve));
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`Alertmanager did not listen within ${BOUND_MS}ms:\n${log}`)), BOUND_MS);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const match = /msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`Alertmanager exited (${code}) before it listened:\n${log}`));
    });
  });
}

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

/** The unresolved alerts Alertmanager lists for `target`. */
async function alertsFor(target: string): Promise<AmAlert[]> {
  const res = await fetch(`${amBase}/api/v2/alerts?active=true&filter=${encodeURIComponent(`target="${target}"`)}`);
  assert.equal(res.status, 200);
  return (await res.json()) as AmAlert[];
}

async function postToMailer(alert: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${mailer.port}/alerts`, { method: 'POST', body: JSON.stringify(alert), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202, await res.text());
}

before(async () => {
  const port = await startAlertmanager();
  amBase = `http://127.0.0.1:${port}`;
  await eventually('Alertmanager was not ready', async () => ((await fetch(`${amBase}/-/ready`)).ok ? true : undefined));
  mailer = await startMailer(['--notify', `alertmanager://127.0.0.1:${port}`]);
});

after(async () => {
  await mailer?.stop();
  if (am && am.exitCode === null && am.signalCode === null) am.kill('SIGTERM');
  await amExited;
  rmSync(dir, { recursive: true, force: true });
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
