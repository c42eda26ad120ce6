/**
 * A real DNS server for the dns:// tests: Debian's dnsmasq (scripts/setup.sh
 * installs dnsmasq-base) in the foreground on 127.0.0.1, answering only its
 * own records for *.test (NXDOMAIN for other names there). `dnsmasqPath` is
 * undefined where it is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { freePort } from './process.ts';

export const dnsmasqPath: string | undefined = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => spawnSync(p, ['--version']).status === 0);

/** Starts dnsmasq with `records` (its own options, e.g. "--address=/shop.test/10.1.2.3"); resolves once it serves. */
export async function startDnsmasq(records: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  if (!dnsmasqPath) throw new Error('dnsmasq is not installed (scripts/setup.sh installs dnsmasq-base)');
  const port = await freePort();
  const child = spawn(dnsmasqPath, ['--keep-in-foreground', '--conf-file=/dev/null', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=', '--local=/test/', '--log-facility=-', ...records], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      text += c.toString();
      if (/cleared cache|started, version/.test(text)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('close', (code) => reject(new Error(`dnsmasq exited (${code}): ${text}`)));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
