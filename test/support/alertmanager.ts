/**
 * The REAL Prometheus Alertmanager for tests (Debian's prometheus-alertmanager;
 * scripts/alertmanager.sh installs it): started on `host` port 0, the port read
 * from its "Listening on" log line (no port is chosen, freed and raced for), no
 * gossip (--cluster.listen-address=), one route to a receiver that sends
 * nothing, its storage in a temporary directory that stop() removes.
 * test/process/alertmanager.test.ts starts it on loopback;
 * test/integration/alertmanager.test.ts on a docker network's gateway, so that
 * a mailer container reaches it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = 'prometheus-alertmanager';

/** An alert as GET /api/v2/alerts lists it (gettableAlert, the fields the tests read). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

export interface StartedAlertmanager {
  /** http://host:port */
  base: string;
  port: number;
  /** Everything it has printed so far. */
  output(): string;
  /** The unresolved alerts it lists whose label `target` is `target`. */
  alertsFor(target: string): Promise<AmAlert[]>;
  /** SIGTERM, wait for the exit, remove its directory. */
  stop(): Promise<void>;
}

/** Escape a label value for a matcher in double quotes (filter=target="…"). */
const quoted = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * Start Alertmanager listening on `host` (an IPv4 address) and resolve once
 * it is ready (GET /-/ready is 200), within `boundMs`.
 */
export async function startAlertmanager(host = '127.0.0.1', boundMs = 10_000): Promise<StartedAlertmanager> {
  const found = spawnSync('sh', ['-c', `command -v ${BINARY}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${BINARY} is not installed: run \`bash scripts/alertmanager.sh\` (scripts/setup.sh does)`);
  const dir = mkdtempSync(join(tmpdir(), 'ch2-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const child: ChildProcess = spawn(
    found.stdout.trim(),
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, '--cluster.listen-address=', `--web.listen-address=${host}:0`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<unknown>((resolve) => child.once('close', resolve));
  let log = '';
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const listening = new RegExp(`msg="Listening on" address=${host.replace(/\./g, '\\.')}:(\\d+)`);
      const timer = setTimeout(() => reject(new Error(`Alertmanager did not listen on ${host} within ${boundMs}ms:\n${log}`)), boundMs);
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        const match = listening.exec(log);
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
    const base = `http://${host}:${port}`;
    const deadline = Date.now() + boundMs;
    while (!(await fetch(`${base}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`Alertmanager was not ready within ${boundMs}ms:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      base,
      port,
      output: () => log,
      async alertsFor(target) {
        const res = await fetch(`${base}/api/v2/alerts?active=true&filter=${encodeURIComponent(`target=${quoted(target)}`)}`);
        if (res.status !== 200) throw new Error(`GET /api/v2/alerts: HTTP ${res.status} ${await res.text()}`);
        return (await res.json()) as AmAlert[];
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
