/**
 * Three mailer containers on one Postgres database (the postgres:15 image as
 * `db`), all active, SMTP into ch2/smtp-sink (`mail`). 500 alerts with unique
 * ids are POSTed by 20 senders spread across the mailers, each resending what
 * got no 202 at the next mailer (as an agent fails over), while the sink
 * answers 451 (so every mailer holds unfinished claims); amid the burst one
 * mailer is killed with SIGKILL and the sink then takes mail. Every alert that
 * got a 202 reaches the sink; a copy repeats only with the same Message-ID
 * and for at most 0.1 % of the alerts; the failover time (the SIGKILL to the
 * first delivery of an alert the dead mailer had claimed, by another) is
 * printed and under 5 s. Then a `docker stop` of a second mailer: its
 * unfinished work is delivered by the third within about a second (its claims
 * released at the stop, NOTIFY).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import { Cleanup, containerIp, docker, dockerOk, http, IMAGES, MAILER_STARTED, startNetwork, startSmtpSink, type StartedNetwork, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const TOTAL = 500;
const SENDERS = 20;
const KILL_AT = 250;

describe('three mailers on one Postgres database', { timeout: 300_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let pg: PostgresServer;
  let sinkApi: string;
  const names = [uniqueName('mailer-c1'), uniqueName('mailer-c2'), uniqueName('mailer-c3')];
  const urls: string[] = [];

  const messages = async (): Promise<StoredMessage[]> => (await http('GET', `${sinkApi}/messages`)).json as StoredMessage[];
  const header = (raw: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw)?.[1]?.trim();
  const mode = async (m: '' | 'tempfail'): Promise<void> => assert.equal((await http('POST', `${sinkApi}/mode`, { mode: m })).status, 200);
  const hostOf = async (name: string): Promise<string> => (await dockerOk(['inspect', '-f', '{{.Config.Hostname}}', name])).stdout.trim();
  /** Alert ids whose deliveries a mailer (by its container's host name) claims and still owes. */
  const owedBy = async (host: string): Promise<string[]> =>
    (await pg.sql<{ id: string }>('cluster', "SELECT DISTINCT alert_id AS id FROM deliveries WHERE state IN ('pending', 'silenced') AND claimed_by LIKE $1", [`ch2-mailer host ${host} %`])).map((r) => r.id);
  /** The sink's messages by alert id. */
  const byAlert = async (): Promise<Map<string, StoredMessage[]>> => {
    const seen = new Map<string, StoredMessage[]>();
    for (const m of await messages()) {
      const id = header(m.raw, 'X-Ch2-Alert-Id');
      if (id) seen.set(id, [...(seen.get(id) ?? []), m]);
    }
    return seen;
  };
  /** When the first of these alerts reached the sink (ms since the epoch), since `since`. */
  const firstAt = (seen: Map<string, StoredMessage[]>, ids: readonly string[], since = 0): number =>
    Math.min(...ids.flatMap((id) => (seen.get(id) ?? []).map((m) => Date.parse(m.receivedAt))).filter((t) => t >= since));

  before(async () => {
    net = await startNetwork(cleanup);
    pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('cluster');
    sinkApi = (await startSmtpSink(net, cleanup, 'mail')).api;
    await mode('tempfail');
    cleanup.names(...names);
    for (const name of names) {
      await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), IMAGES.mailer,
        '--store', pg.url('cluster', 'postgres', 'db:5432'), '--smtp', 'smtp://mail:2525?tls=off', '--group-wait', '0']);
    }
    for (const name of names) {
      await waitUntil(`${name} to start`, async () => (MAILER_STARTED.test((await docker(['logs', name])).stdout) ? true : undefined), 30_000);
      urls.push(`http://${await containerIp(name)}:33333`);
    }
  }, { timeout: 120_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  test('SIGKILL of one mailer amid 500 alerts: every alert that got a 202 is delivered, repeats only with the same Message-ID; failover printed', async () => {
    const ids: string[] = Array.from({ length: TOTAL }, () => randomUUID());
    const acked = new Set<string>();
    let killedAt = 0;
    let deadOwed: string[] = [];
    let killing: Promise<void> | undefined;
    const kill = async (): Promise<void> => {
      const host = await hostOf(names[0]!);
      await dockerOk(['kill', '-s', 'KILL', names[0]!]);
      killedAt = Date.now();
      // Its claims as it left them: nobody can have taken them yet (the lease is 3 s).
      deadOwed = await owedBy(host);
      await mode('');
    };
    const post = async (url: string, id: string): Promise<boolean> => {
      try {
        return (await http('POST', `${url}/alerts`, { id, to: 'admin@work', message: `cluster test ${id}` }, { timeoutMs: 3_000 })).status === 202;
      } catch {
        return false;
      }
    };
    let next = 0;
    await Promise.all(Array.from({ length: SENDERS }, async (_, sender) => {
      while (next < TOTAL) {
        const n = next++;
        const id = ids[n]!;
        // Spread across the mailers; what got no 202 goes to the next one, the same id.
        for (let attempt = 0; !(await post(urls[(n + sender + attempt) % urls.length]!, id)); attempt++) assert.ok(attempt < 100, `alert ${id} was never accepted`);
        acked.add(id);
        if (acked.size === KILL_AT) killing = kill();
      }
    }));
    await killing;
    assert.equal(acked.size, TOTAL);
    assert.ok(deadOwed.length > 0, 'the killed mailer held unfinished claims');
    const seen = await waitUntil(`${TOTAL} alerts at the SMTP server`, async () => {
      const s = await byAlert();
      return ids.every((id) => s.has(id)) ? s : undefined;
    }, 120_000, 500);
    assert.deepEqual([...seen.keys()].filter((id) => !ids.includes(id)), [], 'nothing that was not sent');
    let repeats = 0;
    for (const id of ids) {
      const copies = seen.get(id)!;
      assert.equal(new Set(copies.map((m) => header(m.raw, 'Message-ID'))).size, 1, `alert ${id} arrived as different messages`);
      repeats += copies.length - 1;
    }
    assert.ok(repeats <= Math.floor(TOTAL * 0.001), `${repeats} repeats`);
    const failoverMs = firstAt(seen, deadOwed) - killedAt;
    const takenOver = (await Promise.all(names.slice(1).map(async (n) => (await docker(['logs', n])).stdout))).join('\n').match(/took over \d+ unfinished alert\(s\)/g) ?? [];
    console.log(`# mailer-cluster: ${TOTAL} alerts over 3 mailers, one SIGKILLed holding ${deadOwed.length} unfinished; failover ${failoverMs} ms (SIGKILL to the first of its alerts delivered by another); ${repeats} repeats; ${takenOver.length} takeover line(s)`);
    assert.ok(takenOver.length > 0, 'a surviving mailer says it took over');
    assert.ok(failoverMs < 5000, `failover within 5 s (${failoverMs} ms)`);
  });

  test('docker stop of a mailer: its unfinished work is delivered by another within about a second (released at the stop, NOTIFY)', async () => {
    await mode('tempfail');
    const ids: string[] = Array.from({ length: 40 }, () => randomUUID());
    for (const id of ids) assert.equal((await http('POST', `${urls[1]}/alerts`, { id, to: 'admin@work', message: `stop test ${id}` })).status, 202);
    const host = await hostOf(names[1]!);
    assert.equal((await owedBy(host)).length, ids.length, 'all owed, claimed by the mailer about to stop');
    await mode('');
    const t0 = Date.now();
    await dockerOk(['stop', names[1]!]);
    const stopMs = Date.now() - t0;
    const seen = await waitUntil('the stopped mailer\'s alerts at the SMTP server', async () => {
      const s = await byAlert();
      return ids.every((id) => s.has(id)) ? s : undefined;
    }, 30_000, 100);
    // Since the stop: one of its own retries may have gone out just before.
    const ms = firstAt(seen, ids, t0) - t0;
    console.log(`# mailer-cluster: docker stop (${stopMs} ms) to the first of its alerts delivered by another: ${ms} ms`);
    assert.ok(ms < 1500, `taken over within about a second of the stop (${ms} ms)`);
    assert.match((await docker(['logs', names[2]!])).stdout, new RegExp(`took over \\d+ unfinished alert\\(s\\) from ch2-mailer host ${host} pid 1`));
    const health = (await http('GET', `${urls[2]}/healthz`)).json as { storeClaims?: { held: number; adopted: number; lost: number } };
    assert.ok((health.storeClaims?.adopted ?? 0) >= ids.length, `/healthz counts what it took over: ${JSON.stringify(health.storeClaims)}`);
  });
});
