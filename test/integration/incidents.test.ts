/**
 * Incidents end to end, on a docker network with the book's aliases: a real
 * nginx (insideweb), the ch2/mailer (insidemailer) and the ch2/agent. The web
 * container is stopped and started again with the docker CLI: the mailer logs
 * the down alert, a reminder while it stays down, and the up alert with the
 * outage's length.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cleanup, dockerOk, startAgent, startMailer, startNetwork, startNginx } from './helpers.ts';

const TOKEN = 'incidents-test-token-0123456789';

/** "850ms", "3.2s", "1m 05s" (as the agent writes an outage's length) → ms. */
function elapsedMs(text: string): number {
  const m = /^(?:(\d+)m )?(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) throw new Error(`not a length: ${text}`);
  return Number(m[1] ?? 0) * 60_000 + Number(m[2]) * (m[3] === 'ms' ? 1 : 1000);
}
const ELAPSED = '((?:\\d+m )?\\d+(?:\\.\\d)?m?s)';

describe('incidents: down, reminders, up, on a real nginx', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('docker stop web: one down alert, a reminder each second while down (capped), docker start web: the up alert with its length', { timeout: 90_000 }, async () => {
    const net = await startNetwork(cleanup);
    const web = await startNginx(net, cleanup);
    // The same env var gives the mailer its token and the agent the token to send.
    const mailer = await startMailer(net, cleanup, { env: { MAILER_TOKEN: TOKEN } });
    const agent = await startAgent(net, cleanup, { args: ['--remind-every', '1s', '--max-reminders', '2'], env: { MAILER_TOKEN: TOKEN } });
    const webName = web.container.getName().replace(/^\//, '');

    await dockerOk(['stop', webName], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!\n/, 10_000);
    await agent.logs.waitFor(/Alert: http:\/\/insideweb:80\/ is down \((connection refused|connect timeout after \d+ms|host not found|host unreachable)\); telling the mailer\./, 5_000);

    const first = await mailer.logs.waitFor(new RegExp(`Message: The service is down! Still down after ${ELAPSED} \\(reminder 1 of 2\\)\\.`), 10_000);
    const second = await mailer.logs.waitFor(new RegExp(`Message: The service is down! Still down after ${ELAPSED} \\(reminder 2 of 2\\)\\.`), 10_000);
    assert.ok(elapsedMs(second.match[1]!) > elapsedMs(first.match[1]!), 'each reminder says how long the outage has lasted so far');

    // Past the cap: the checks go on, the reminders stop.
    const checksNow = agent.logs.count(/System down/);
    await agent.logs.waitForCount(/System down/, checksNow + 3, 10_000);
    assert.equal(mailer.logs.count(/\(reminder \d of 2\)/), 2, 'no reminder past --max-reminders');

    await dockerOk(['start', webName], { timeoutMs: 20_000 });
    const up = await mailer.logs.waitFor(new RegExp(`Sending email: To: admin@work Message: The service is back up\\. Down for ${ELAPSED}\\.`), 20_000);
    assert.ok(elapsedMs(up.match[1]!) >= elapsedMs(second.match[1]!), 'the outage lasted at least as long as the last reminder said');
    await agent.logs.waitFor(new RegExp(`Alert: http://insideweb:80/ is up \\(down for ${ELAPSED}\\); telling the mailer\\.`), 5_000);
    await agent.logs.waitFor(/System up\.\n/, 5_000, agent.logs.text.lastIndexOf('is up (down for'));

    assert.equal(mailer.logs.count(/Message: The service is down!\n/), 1, 'one down alert per incident');
    assert.equal(mailer.logs.count(/The service is back up/), 1, 'one up alert per incident');
    assert.doesNotMatch(mailer.logs.text, /Refused|401/);
    assert.doesNotMatch(agent.logs.text + mailer.logs.text, new RegExp(TOKEN), 'the token is never printed');
  });

  test('several targets (TARGET list): the down target is named, the others stay quiet', { timeout: 60_000 }, async () => {
    const net = await startNetwork(cleanup);
    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup);
    const agent = await startAgent(net, cleanup, {
      env: { TARGET: 'http://insideweb:80/, tcp://insidemailer:33333', INTERVAL: '500ms' },
      wait: (await import('./helpers.ts')).Wait.forLogMessage(/Watching 2 targets; alerts go to insidemailer:33333 \(json\)\./),
    });
    const webName = web.container.getName().replace(/^\//, '');

    await dockerOk(['stop', webName], { timeoutMs: 20_000 });
    await agent.logs.waitFor(/^Alert: http:\/\/insideweb:80\/ is down \([^)]+\); telling the mailer\.$/m, 10_000);
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 10_000);
    await dockerOk(['start', webName], { timeoutMs: 20_000 });
    await agent.logs.waitFor(/^Alert: http:\/\/insideweb:80\/ is up \(down for [^)]+\); telling the mailer\.$/m, 20_000);

    assert.doesNotMatch(agent.logs.text, /tcp:\/\/insidemailer:33333/, 'the mailer port never failed, so it is never named');
    assert.doesNotMatch(agent.logs.text, /System up\./, 'no per-check lines with several targets');
  });
});
