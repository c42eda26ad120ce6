/**
 * The mailer image on a Postgres store (--store postgres://…, the postgres:15
 * image on the test's network as `db`): alerts acknowledged (202) while SMTP
 * fails survive a `docker kill -s KILL` of the mailer and are all delivered
 * once it is started again and the SMTP server takes mail; a second mailer on
 * the same database starts too (several mailers share one; the cluster
 * itself: mailer-cluster.test.ts) and an id posted to both is kept once; a
 * mailer started while Postgres is down says so in one line and starts by
 * itself once Postgres is back. No line shows the password.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Cleanup, containerIp, docker, dockerOk, http, IMAGES, MAILER_STARTED, startNetwork, startSmtpSink, type StartedNetwork, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

interface StoredMessage {
  raw: string;
}

async function logs(name: string): Promise<string> {
  const r = await docker(['logs', name]);
  return r.stdout + r.stderr;
}

async function startedCount(name: string): Promise<number> {
  return (await logs(name)).match(/CH2 Example Mailer has started\./g)?.length ?? 0;
}

describe('the mailer image on a Postgres store', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let pg: PostgresServer;
  let sinkApi: string;

  before(async () => {
    net = await startNetwork(cleanup);
    pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    sinkApi = (await startSmtpSink(net, cleanup, 'mail')).api;
  }, { timeout: 90_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  const storeUrl = (db: string): string => pg.url(db, 'postgres', 'db:5432');

  /** `docker run -d` a mailer on the network; resolves with its URL once it has started. */
  async function runMailer(name: string, db: string, args: string[] = []): Promise<string> {
    cleanup.names(name);
    await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), IMAGES.mailer, '--store', storeUrl(db), ...args]);
    await waitUntil(`${name} to start`, async () => ((await startedCount(name)) > 0 ? true : undefined), 30_000);
    return `http://${await containerIp(name)}:33333`;
  }

  test('alerts acknowledged while SMTP fails survive docker kill -s KILL and are delivered after the restart', async () => {
    await pg.ensure('killed');
    const name = uniqueName('mailer-pg');
    assert.equal((await http('POST', `${sinkApi}/mode`, { mode: 'tempfail' })).status, 200);
    const url = await runMailer(name, 'killed', ['--smtp', 'smtp://mail:2525?tls=off', '--group-wait', '0']);
    const ids = Array.from({ length: 60 }, () => randomUUID());
    const statuses = await Promise.all(ids.map(async (id) => (await http('POST', `${url}/alerts`, { id, to: 'admin@work', message: `pg test ${id}` }, { timeoutMs: 10_000 })).status));
    const acked = ids.filter((_, i) => statuses[i] === 202);
    assert.equal(acked.length, ids.length, `every alert acknowledged: ${statuses.join(',')}`);
    await dockerOk(['kill', '-s', 'KILL', name]);
    assert.equal((await http('POST', `${sinkApi}/mode`, { mode: '' })).status, 200);
    const before = (await http('GET', `${sinkApi}/messages`)).json as StoredMessage[];
    assert.equal(before.filter((m) => acked.some((id) => m.raw.includes(id))).length, 0, 'none was delivered by SMTP before the kill');
    await dockerOk(['start', name]);
    await waitUntil('the mailer to start again', async () => ((await startedCount(name)) > 1 ? true : undefined), 30_000);
    assert.match(await logs(name), new RegExp(`resuming ${acked.length} unfinished alert\\(s\\)`));
    const missing = await waitUntil('every acknowledged alert delivered by SMTP', async () => {
      const got = ((await http('GET', `${sinkApi}/messages`)).json as StoredMessage[]).map((m) => m.raw).join('\n');
      const left = acked.filter((id) => !got.includes(id));
      return left.length === 0 ? left : undefined;
    }, 30_000, 250);
    assert.deepEqual(missing, []);
    assert.ok(!(await logs(name)).includes(pg.password), 'no password in the log');
  });

  test('a second mailer on the same database starts too and takes alerts; an id posted to both is kept once', async () => {
    await pg.ensure('shared');
    const first = uniqueName('mailer-pg-a');
    const second = uniqueName('mailer-pg-b');
    const url = await runMailer(first, 'shared');
    const other = await runMailer(second, 'shared');
    assert.equal((await dockerOk(['inspect', '-f', '{{.State.Running}}', second])).stdout.trim(), 'true', 'the second one runs: no exit 2');
    const id = randomUUID();
    const a = await http('POST', `${url}/alerts`, { id, to: 'admin@work', message: 'to both' });
    const b = await http('POST', `${other}/alerts`, { id, to: 'admin@work', message: 'to both' });
    assert.equal(a.status, 202);
    assert.deepEqual([b.status, (b.json as { duplicate?: boolean }).duplicate], [202, true], 'the second mailer answers as a duplicate: the id is in the database');
    assert.equal((await http('POST', `${other}/alerts`, { to: 'admin@work', message: 'the second takes its own' })).status, 202);
    assert.equal((await pg.sql('shared', 'SELECT 1 FROM alerts WHERE id = $1', [id])).length, 1);
    assert.doesNotMatch(await logs(second), /in use/);
  });

  test('a mailer started while Postgres is down says so in one line, and starts by itself once Postgres is back', async () => {
    await pg.ensure('later');
    await pg.stop();
    const name = uniqueName('mailer-pg-wait');
    cleanup.names(name);
    await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', net.getName(), IMAGES.mailer, '--store', storeUrl('later')]);
    const line = new RegExp('^Store postgres://postgres@db:5432/later: cannot reach the server \\(.+\\); retrying every second until it answers\\.$', 'm');
    await waitUntil('the waiting line', async () => (line.test(await logs(name)) ? true : undefined), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const waiting = (await logs(name)).trim().split('\n');
    assert.equal(waiting.length, 1, `one line while it waits: ${waiting.join(' | ')}`);
    assert.equal((await dockerOk(['inspect', '-f', '{{.State.Running}}', name])).stdout.trim(), 'true', 'still running: it waits');
    await pg.start();
    await waitUntil('the mailer to start', async () => (MAILER_STARTED.test(await logs(name)) ? true : undefined), 20_000);
    const text = await logs(name);
    assert.match(text, /Store postgres:\/\/postgres@db:5432\/later: connected\./);
    assert.ok(!text.includes(pg.password));
    const url = `http://${await containerIp(name)}:33333`;
    assert.equal((await http('POST', `${url}/alerts`, { to: 'admin@work', message: 'after the wait' })).status, 202);
    const health = await docker(['exec', name, 'ch2-mailer', 'healthcheck']);
    assert.equal(health.code, 0, `the image's healthcheck finds the mailer: ${health.stdout}${health.stderr}`);
  });
});
