/**
 * dns:// targets in the agent bundle against a real DNS server (dnsmasq on a
 * loopback port): up on a matching answer of each type; down on NXDOMAIN, on
 * no record of the type, on an answer that does not match, and on a timeout
 * (a server that never answers).
 */
import { createSocket } from 'node:dgram';
import { after, test } from 'node:test';
import { dnsmasqPath, startDnsmasq } from '../support/dnsmasq.ts';
import { start } from '../support/process.ts';

const MAILER = ['--mailer', '127.0.0.1:9'];

test('dns:// against dnsmasq: each type up when it matches, down with a plain reason otherwise', { skip: dnsmasqPath ? false : 'dnsmasq is not installed' }, async () => {
  const dns = await startDnsmasq(['--address=/shop.test/10.1.2.3', '--txt-record=shop.test,v=ok', '--mx-host=shop.test,mail.shop.test,10', '--cname=www.shop.test,shop.test']);
  after(() => dns.stop());
  // A UDP socket that reads queries and never answers.
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  after(() => silent.close());
  const silentPort = silent.address().port;
  const s = `server=127.0.0.1:${dns.port}`;
  const targets = [
    `dns://shop.test?type=A&${s}&expect=10.1.2.3`,
    `dns://shop.test?type=TXT&${s}&expect=v=ok`,
    `dns://shop.test?type=MX&${s}&expect=mail.shop.test`,
    `dns://www.shop.test?type=CNAME&${s}&expect=shop.test`,
    `dns://nope.test?${s}`,
    `dns://shop.test?type=AAAA&${s}`,
    `dns://shop.test?${s}&expect=10.9.9.9`,
    `dns://shop.test?server=127.0.0.1:${silentPort}`,
  ];
  const agent = start('agent', [...targets.flatMap((t) => ['--target', t]), '--view', 'lines', '--log-level', 'debug', '--interval', '500ms', '--timeout', '300ms', ...MAILER]);
  try {
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const t of targets.slice(0, 4)) await agent.waitFor(new RegExp(`^${esc(t)}: up`, 'm'));
    await agent.waitFor(new RegExp(`^Alert: ${esc(targets[4]!)} is down \\(NXDOMAIN: the name does not exist\\)`, 'm'));
    await agent.waitFor(new RegExp(`^Alert: ${esc(targets[5]!)} is down \\(no AAAA record\\)`, 'm'));
    await agent.waitFor(new RegExp(`^Alert: ${esc(targets[6]!)} is down \\(A answer 10\\.1\\.2\\.3, expected 10\\.9\\.9\\.9\\)`, 'm'));
    await agent.waitFor(new RegExp(`^Alert: ${esc(targets[7]!)} is down \\(DNS timeout after 300ms\\)`, 'm'));
  } finally {
    await agent.stop();
  }
});
