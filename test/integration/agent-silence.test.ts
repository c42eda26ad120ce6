/**
 * Agent silence on the images: two agents report to the mailer every second
 * (`--report-every 1s`), the mailer alarms after 3 s of silence
 * (`--agent-silence 3s`), with a token so GET /api/v1/agents answers the host.
 * `docker kill` of one agent (no goodbye) raises the silence alert in the
 * mailer's log within the silence plus a few seconds; `docker stop` of the
 * other (its goodbye) marks it stopped and raises none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cleanup, dockerOk, type Started, startAgent, startMailer, startNetwork, startNginx, waitUntil } from './helpers.ts';

const TOKEN = 'silence-token-0123456789';
const SILENCE_MS = 3000;
/** The alarm may come one report interval and a timer's slack after the silence. */
const ALARM_WITHIN_MS = SILENCE_MS + 4000;

describe('agent silence: docker kill alarms, docker stop does not', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  let mailer: Started;
  let api: string;
  const agents: Record<string, Started> = {};

  const listed = async (): Promise<{ name: string; state: string }[]> => {
    const r = await fetch(`${api}/api/v1/agents`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
    return r.status === 200 ? ((await r.json()) as { name: string; state: string }[]) : [];
  };

  before(async () => {
    const net = await startNetwork(cleanup);
    await startNginx(net, cleanup);
    mailer = await startMailer(net, cleanup, { args: ['--agent-silence', '3s'], env: { MAILER_TOKEN: TOKEN } });
    api = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    for (const name of ['killed-agent', 'stopped-agent']) {
      agents[name] = await startAgent(net, cleanup, { args: ['--report-every', '1s', '--agent-name', name], env: { MAILER_TOKEN: TOKEN } });
    }
  }, { timeout: 90_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('both agents report; docker kill of one raises the silence alert; docker stop of the other does not', { timeout: 60_000 }, async () => {
    await waitUntil('both agents reporting', async () => {
      const list = await listed();
      return ['killed-agent', 'stopped-agent'].every((n) => list.some((a) => a.name === n && a.state === 'reporting')) ? true : undefined;
    }, 15_000, 200);
    const from = mailer.logs.mark();

    const stoppedAt = Date.now();
    await dockerOk(['stop', '-t', '10', agents['stopped-agent']!.container.getId()], { timeoutMs: 20_000 });
    await waitUntil('stopped-agent marked stopped (its goodbye)', async () => ((await listed()).some((a) => a.name === 'stopped-agent' && a.state === 'stopped') ? true : undefined), 5000, 100);

    const killedAt = Date.now();
    await dockerOk(['kill', agents['killed-agent']!.container.getId()], { timeoutMs: 20_000 });
    const alarm = await mailer.logs.waitFor(/Sending email: To: admin@work Message: agent killed-agent has not reported for [^\n]*; its 1 target is not being watched/, ALARM_WITHIN_MS, from);
    const took = alarm.at - killedAt;
    console.log(`  silence alert ${took} ms after docker kill (silence ${SILENCE_MS} ms)`);
    assert.ok(took >= SILENCE_MS - 1000, `the alarm came ${took} ms after the kill, before the silence had passed`);

    // An absence can only be waited for: until stopped-agent has been quiet for the silence and a second more.
    const quietFor = SILENCE_MS + 1000 - (Date.now() - stoppedAt);
    if (quietFor > 0) await new Promise((resolve) => setTimeout(resolve, quietFor));
    assert.doesNotMatch(mailer.logs.text.slice(from), /agent stopped-agent has not reported/, 'docker stop (a goodbye) raises no alarm');
    assert.ok((await listed()).some((a) => a.name === 'killed-agent' && a.state === 'silent'));
  });
});
