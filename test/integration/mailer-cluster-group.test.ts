/**
 * Grouping and rate limits per destination across mailers, on the images:
 * two mailer containers on one Postgres database (the postgres:15 image as
 * `db`), each with the same grouping channels, SMTP and Slack (rate-limited,
 * one message a second), into ch2/smtp-sink (`sink`: its SMTP server, and its
 * receiver as the Slack fake), --group-wait 3s. Once each mailer sees the
 * other (/healthz storeOwners.members), 20 alerts for one recipient are
 * POSTed alternately to A and B within the wait: the sink gets ONE e-mail
 * whose X-Ch2-Alert-Id names all 20, and ONE Slack message naming all 20
 * targets (before destination owners, mailer/delivery/destination-owner.ts:
 * two of each, one from each mailer, the Slack ones within its second).
 * What each mailer handed over is printed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { StoredHook, StoredMessage } from '../fixtures/smtp-sink/server.ts';
import { Cleanup, containerIp, docker, dockerOk, http, IMAGES, MAILER_STARTED, startNetwork, startSmtpSink, type StartedNetwork, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const COUNT = 20;
const SLACK_URL = 'slack://hook:T0-B0-X0@webhook?api=http://sink:8025/hooks/cgroup';
const SLACK_HOOK = 'cgroup/services/T0/B0/X0';

interface Health {
  deliveriesActive?: number;
  storeOwners?: { members: number; handed: number };
}

describe('two mailers on one Postgres database: one group, and one rate, per destination', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let pg: PostgresServer;
  let sinkApi: string;
  const names = [uniqueName('mailer-g1'), uniqueName('mailer-g2')];
  const urls: string[] = [];
  const health = async (url: string): Promise<Health> => (await http('GET', `${url}/healthz`)).json as Health;
  /** A header's value, unfolded (a grouped e-mail's X-Ch2-Alert-Id spans lines). */
  const header = (raw: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw.replace(/\r?\n[ \t]+/g, ' '))?.[1]?.trim();

  before(async () => {
    net = await startNetwork(cleanup);
    pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('cgroup');
    sinkApi = (await startSmtpSink(net, cleanup, 'sink')).api;
    cleanup.names(...names);
    for (const name of names) {
      await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), IMAGES.mailer,
        '--store', pg.url('cgroup', 'postgres', 'db:5432'), '--smtp', 'smtp://sink:2525?tls=off', '--notify', SLACK_URL, '--group-wait', '3s']);
    }
    for (const name of names) {
      await waitUntil(`${name} to start`, async () => (MAILER_STARTED.test((await docker(['logs', name])).stdout) ? true : undefined), 30_000);
      urls.push(`http://${await containerIp(name)}:33333`);
    }
  }, { timeout: 120_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  test(`${COUNT} alerts for one recipient posted alternately to two mailers within the wait: one e-mail and one Slack message naming all ${COUNT}`, { timeout: 90_000 }, async () => {
    for (const url of urls) await waitUntil('each mailer to see the other', async () => ((await health(url)).storeOwners?.members === 2 ? true : undefined), 10_000, 100);
    const run = randomUUID().slice(0, 8);
    const ids = Array.from({ length: COUNT }, (_, i) => `g${run}-${i + 1}`);
    const targets = ids.map((id) => `t-${id}`);
    const started = Date.now();
    for (const [i, id] of ids.entries()) {
      const r = await http('POST', `${urls[i % 2]}/alerts`, { id, to: 'admin@work', message: 'The service is down!', target: targets[i] });
      assert.equal(r.status, 202, `alert ${id}: ${r.status}`);
    }
    assert.ok(Date.now() - started < 2000, `posted within the wait (${Date.now() - started} ms)`);
    const mails = async (): Promise<StoredMessage[]> => ((await http('GET', `${sinkApi}/messages`)).json as StoredMessage[]).filter((m) => (header(m.raw, 'X-Ch2-Alert-Id') ?? '').includes(`g${run}-`));
    const slack = async (): Promise<StoredHook[]> => ((await http('GET', `${sinkApi}/hooks`)).json as StoredHook[]).filter((h) => h.name === SLACK_HOOK);
    const named = (ms: StoredMessage[]): Set<string> => new Set(ms.flatMap((m) => (header(m.raw, 'X-Ch2-Alert-Id') ?? '').split(' ')));
    const slackNamed = (hs: StoredHook[]): Set<string> => new Set(hs.flatMap((h) => targets.filter((t) => ((h.json as { text: string }).text.split('\n')[0] ?? '').includes(t))));
    await waitUntil(`e-mails and Slack messages naming all ${COUNT}`, async () => (named(await mails()).size >= COUNT && slackNamed(await slack()).size >= COUNT ? true : undefined), 30_000, 200).catch(async (err: unknown) => {
      const logs = await Promise.all(names.map(async (n) => (await docker(['logs', n])).stdout.split('\n').slice(-15).join('\n')));
      throw new Error(`${String(err)}: e-mails name ${named(await mails()).size}, Slack ${slackNamed(await slack()).size} (${(await slack()).length} messages)\n${logs.join('\n---\n')}`);
    });
    // Nothing still on its way: no delivery under way in either mailer.
    for (const url of urls) await waitUntil('no deliveries active', async () => ((await health(url)).deliveriesActive === 0 ? true : undefined), 15_000, 200);
    const finalMails = await mails();
    const finalSlack = await slack();
    const handed = await Promise.all(urls.map(async (u) => (await health(u)).storeOwners?.handed ?? 0));
    console.log(`  cluster group: ${finalMails.length} e-mail(s) of ${finalMails.map((m) => named([m]).size).join(', ')} alerts; ${finalSlack.length} Slack message(s); handed over by A, B: ${handed.join(', ')}`);
    assert.equal(finalMails.length, 1, `one grouped e-mail, not ${finalMails.length}`);
    assert.deepEqual([...named(finalMails)].sort(), [...ids].sort(), 'naming all 20');
    assert.equal(finalSlack.length, 1, `one Slack message, not ${finalSlack.length}`);
    assert.deepEqual([...slackNamed(finalSlack)].sort(), [...targets].sort());
    assert.ok(handed.reduce((a, b) => a + b, 0) >= COUNT / 2, 'the mailer that owns neither destination handed its alerts over');
  });
});
