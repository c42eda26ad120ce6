/**
 * The book's tutorial on a user-defined network: nginx as "insideweb", our
 * mailer as "insidemailer", our agent with no flags at all. The agent reports
 * the site up; stopping nginx makes the mailer send the down alert; a new
 * nginx under the same alias makes it send the "back up" alert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup, docker, startAgent, type Started, type StartedNetwork, startMailer, startNetwork, startNginx, SYSTEM_UP, Wait, waitUntil, withSuiteNetwork } from './helpers.ts';

const DOWN_LINE = /Sending email: To: admin@work Message: The service is down!/;
const UP_LINE = /Sending email: To: admin@work Message: The service is back up\./;

describe('tutorial: nginx + mailer + agent on a network', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let web: Started;
  let mailer: Started;
  let agent: Started;

  before(async () => {
    net = await startNetwork(cleanup);
    web = await startNginx(net, cleanup);
    mailer = await startMailer(net, cleanup);
    agent = await startAgent(net, cleanup);
  }, { timeout: 90_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('the agent reports the site up, once a second', { timeout: 20_000 }, async () => {
    const from = agent.logs.mark();
    await agent.logs.waitFor(SYSTEM_UP, 5_000, from);
    // A second good check follows about a second later.
    await agent.logs.waitForCount(SYSTEM_UP, 2, 5_000, from);
    assert.doesNotMatch(mailer.logs.text, /Sending email/, 'no alert while the site is up');
  });

  test('stopping nginx makes the mailer send the down alert', { timeout: 30_000 }, async () => {
    const stopped = Date.now();
    await web.container.stop({ timeout: 10_000 });
    const stopReturned = Date.now();
    const { at } = await mailer.logs.waitFor(DOWN_LINE, 15_000);
    const fromStopCall = at - stopped;
    const fromStopReturn = at - stopReturned;
    console.log(`  down alert logged by the mailer ${fromStopReturn} ms after nginx stopped (${fromStopCall} ms after the stop call)`);
    assert.ok(fromStopReturn <= 10_000, `down alert took ${fromStopReturn} ms`);
    assert.match(agent.logs.text, /System down: [^\n]+\./);
    assert.match(agent.logs.text, /Alert: http:\/\/insideweb:80\/ is down/);
    assert.equal(mailer.logs.count(DOWN_LINE), 1, 'exactly one down alert per outage');
  });

  test('a new nginx as insideweb makes the mailer send the back-up alert', { timeout: 40_000 }, async () => {
    const mark = agent.logs.mark();
    const started = Date.now();
    web = await startNginx(net, cleanup);
    const { at } = await mailer.logs.waitFor(UP_LINE, 15_000);
    console.log(`  up alert logged ${at - started} ms after the new nginx was started`);
    await agent.logs.waitFor(SYSTEM_UP, 5_000, mark);
    // Still a single down alert, and a single up alert.
    assert.equal(mailer.logs.count(DOWN_LINE), 1);
    assert.equal(mailer.logs.count(UP_LINE), 1);
  });
});

describe('tutorial variations', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  withSuiteNetwork(cleanup, (n) => (net = n));

  test('the mailer is away when the site goes down: the alert waits and is delivered once it is back', { timeout: 60_000 }, async () => {
    const web = await startNginx(net, cleanup, 'insideweb');
    const agent = await startAgent(net, cleanup);
    await web.container.stop({ timeout: 10_000 });
    await agent.logs.waitFor(/Alert: http:\/\/insideweb:80\/ is down/, 10_000);
    await agent.logs.waitFor(/mailer unreachable at insidemailer:33333: [^\n]*retrying in/, 10_000);
    const mailer = await startMailer(net, cleanup);
    const started = Date.now();
    // The agent's backoff doubles from 0.5 s and is capped at 30 s; a few seconds here.
    const { at } = await mailer.logs.waitFor(DOWN_LINE, 30_000);
    console.log(`  the waiting alert reached the mailer ${at - started} ms after it started`);
    await startNginx(net, cleanup, 'insideweb');
    await mailer.logs.waitFor(UP_LINE, 15_000);
    assert.equal(mailer.logs.count(DOWN_LINE), 1, 'the retried alert is logged once');
    assert.equal(mailer.logs.count(UP_LINE), 1);
  });

  test('--exit-on-alert: the agent exits 0 once the mailer has the down alert', { timeout: 40_000 }, async () => {
    const mailer = await startMailer(net, cleanup, { aliases: ['exitmailer'] });
    const agent = await startAgent(net, cleanup, {
      args: ['--target', 'http://127.0.0.1:9/', '--mailer', 'exitmailer:33333', '--exit-on-alert'],
      wait: Wait.forLogMessage(/System down: /),
    });
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 10_000);
    const state = await waitUntil('the agent to exit', async () => {
      const r = await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', agent.container.getId()]);
      const [running, code] = r.stdout.trim().split(' ');
      return running === 'false' ? Number(code) : undefined;
    }, 10_000, 200);
    assert.equal(state, 0);
    assert.match(agent.logs.text, /Alert delivered; exiting \(--exit-on-alert\)\./);
  });
});
