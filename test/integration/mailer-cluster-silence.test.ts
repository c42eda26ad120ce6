/**
 * Agent silence across two mailers on one Postgres database (the postgres:15
 * image as `db`), both with `--agent-silence 3s`: an agent reports every
 * second to the first of its `--mailer ma:33333,mb:33333`. Mailer B, started
 * again after the agent's first reports (so it knows the agent from the
 * store, and hears none of its reports since), does not call it silent: it
 * asks the store for the agent's last report (taken by A) before it would.
 * Killed, the agent is silent at both: each decides so, with the same
 * incident, so the alarm is one alert (the second mailer's is a duplicate
 * id) and one "Sending email" line in all. Before the store was asked, B
 * raised "agent … has not reported" 3 s after its start while the agent
 * reported every second.
 *
 * Then silences: one added at A (POST /api/v1/silences) holds an alert
 * posted to B (B's log says it is silenced, GET /alerts?state=silenced at B
 * lists it); removed at A, B sends it. A silence's commit NOTIFYs the other
 * mailers, who read the silences again; before, B never knew of A's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Cleanup, containerIp, docker, dockerOk, MAILER_STARTED, startAgent, startMailer, startNginx, startNetwork, type Started, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const AGENT = 'silence-probe';
const TOKEN = 'cluster-silence-token-0123456789';
/** The mailer's warn line when it calls the agent silent (not the alarm's own "Sending email" line). */
const SILENT_LINE = new RegExp(`^agent ${AGENT} has not reported for`, 'gm');
const ALARM_SENT = new RegExp(`Sending email: To: admin@work Message: agent ${AGENT} has not reported for`, 'g');

describe('agent silence with two mailers on one Postgres database', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let pg: PostgresServer;
  const mailers: Started[] = [];
  let agentName = '';

  before(async () => {
    const net = await startNetwork(cleanup);
    pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('silence');
    for (const alias of ['ma', 'mb']) {
      mailers.push(await startMailer(net, cleanup, { aliases: [alias], args: ['--store', pg.url('silence', 'postgres', 'db:5432'), '--agent-silence', '3s', '--token', TOKEN] }));
    }
    await startNginx(net, cleanup, 'silenceweb');
    const agent = await startAgent(net, cleanup, { args: ['--mailer', 'ma:33333,mb:33333', '--target', 'http://silenceweb:80/', '--report-every', '1s', '--agent-name', AGENT], env: { MAILER_TOKEN: TOKEN } });
    agentName = agent.container.getName().replace(/^\//, '');
  }, { timeout: 120_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  /** Everything a mailer printed, over all its runs (`docker logs`: B is restarted). */
  const logsOf = async (m: Started): Promise<string> => {
    const r = await docker(['logs', m.container.getName().replace(/^\//, '')]);
    return r.stdout + r.stderr;
  };
  const counts = async (re: RegExp): Promise<[number, number]> => {
    const [a, b] = await Promise.all(mailers.map(logsOf));
    return [a!.match(re)?.length ?? 0, b!.match(re)?.length ?? 0];
  };

  test('B, which hears none of its reports, does not call it silent; killed, it is one alarm from the two', { timeout: 60_000 }, async () => {
    const b = mailers[1]!;
    await waitUntil('the agent in the store', async () => ((await pg.sql('silence', 'SELECT 1 FROM hub_agents WHERE name = $1', [AGENT])).length > 0 ? true : undefined), 15_000, 100);
    await dockerOk(['restart', '-t', '5', b.container.getName().replace(/^\//, '')], { timeoutMs: 30_000 });
    const started = new RegExp(MAILER_STARTED.source, 'g');
    await waitUntil('mailer B started again', async () => ((await logsOf(b)).match(started)?.length === 2 ? true : undefined), 20_000, 100);
    const restartedAt = Date.now();
    // B's deadline for the agent is 3 s after its start (a restored agent's silence counts from then): a second and a half past it.
    await waitUntil('4.5 s of the agent reporting to A', () => (Date.now() - restartedAt >= 4_500 ? true : undefined), 6_000, 100);
    assert.deepEqual(await counts(SILENT_LINE), [0, 0], `no mailer called the agent silent while it reported to A; B:\n${(await logsOf(b)).slice(-1500)}`);

    await dockerOk(['kill', '-s', 'KILL', agentName]);
    await waitUntil('both mailers to call the agent silent', async () => ((await counts(SILENT_LINE)).every((n) => n > 0) ? true : undefined), 10_000, 100);
    await waitUntil('the alarm sent', async () => ((await counts(ALARM_SENT)).some((n) => n > 0) ? true : undefined), 10_000, 100);
    const alarms = await pg.sql<{ id: string }>('silence', "SELECT id FROM alerts WHERE alert->>'target' = $1 AND alert->>'status' = 'down'", [`agent:${AGENT}`]);
    assert.equal(alarms.length, 1, `one alarm alert in the store, whichever mailer raised it first: ${JSON.stringify(alarms)}`);
    const sent = await counts(ALARM_SENT);
    assert.equal(sent[0] + sent[1], 1, 'one "Sending email" line in all');
    console.log(`  the alarm ${alarms[0]!.id}, both mailers calling the agent silent; sent by ${sent[0] > 0 ? 'A' : 'B'}`);
  });

  test('a silence added at mailer A holds an alert posted to mailer B; removed at A, B sends it', { timeout: 60_000 }, async () => {
    const [urlA, urlB] = await Promise.all(mailers.map(async (m) => `http://${await containerIp(m.container.getName().replace(/^\//, ''))}:33333`));
    const api = async (url: string, method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
    const added = await api(urlA!, 'POST', '/api/v1/silences', { target: 'maint-*', for: '1h', comment: 'cluster maintenance' });
    assert.equal(added.status, 201, await added.clone().text());
    const silence = ((await added.json()) as { id: string }).id;
    const id = randomUUID();
    const posted = await api(urlB!, 'POST', '/alerts', { id, to: 'admin@work', status: 'down', target: 'maint-1', message: `maint-1 is down ${id}` });
    assert.equal(posted.status, 202);
    const b = mailers[1]!;
    await waitUntil("B to hold it for A's silence", async () => (new RegExp(`Alert ${id} via log is silenced \\(silence ${silence}\\)`).test(await logsOf(b)) ? true : undefined), 10_000, 100);
    const held = (await (await api(urlB!, 'GET', '/alerts?state=silenced')).json()) as { alerts: Array<{ id: string }> };
    assert.deepEqual(held.alerts.map((a) => a.id), [id], 'GET /alerts?state=silenced at B lists it');
    assert.doesNotMatch(await logsOf(b), new RegExp(`Sending email: .*${id}`), 'not sent while silenced');
    assert.equal((await api(urlA!, 'DELETE', `/api/v1/silences/${silence}`)).status, 200);
    await waitUntil('B to send it once the silence is gone', async () => (new RegExp(`Sending email: To: admin@work Message: maint-1 is down ${id}`).test(await logsOf(b)) ? true : undefined), 10_000, 100);
  });
});
