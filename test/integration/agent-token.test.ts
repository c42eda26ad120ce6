/**
 * A wrong token on the images (issue 16, item 5): nginx ("insideweb"), a mailer
 * with --token A ("insidemailer") and an agent with --mailer-token B. At the
 * outage the mailer refuses the agent's down alert (401): the agent keeps it
 * and retries, and the mailer sends nothing. That mailer is then stopped and a
 * new one, taking token B, started under the same alias: the kept alert is
 * delivered there, once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cleanup, startAgent, startMailer, startNginx, type StartedNetwork, withSuiteNetwork } from './helpers.ts';

const TOKEN_A = 'token-the-mailer-has-0123456789';
const TOKEN_B = 'token-the-agent-has-9876543210';
const DOWN_LINE = /Sending email: To: admin@work Message: The service is down!/;

describe('a wrong token', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  withSuiteNetwork(cleanup, (n) => (net = n));

  test("the agent's down alert refused with 401 is kept, and delivered once a mailer takes the token", { timeout: 120_000 }, async () => {
    const web = await startNginx(net, cleanup);
    const first = await startMailer(net, cleanup, { args: ['--token', TOKEN_A] });
    const agent = await startAgent(net, cleanup, { args: ['--target', 'http://insideweb:80/', '--mailer', 'insidemailer:33333', '--mailer-token', TOKEN_B] });
    await agent.logs.waitFor(/refused our token \(401\)/, 10_000);
    await web.container.stop({ timeout: 10_000 });
    await agent.logs.waitFor(/Alert: http:\/\/insideweb:80\/ is down/, 10_000);
    await agent.logs.waitFor(/mailer refused the alert \(401 unauthorized: [^\n]*check --mailer-token \(MAILER_TOKEN\); alerts are kept and retried until it is fixed/, 10_000);
    assert.equal(first.logs.count(DOWN_LINE), 0, 'the mailer that refused the token sent nothing');
    assert.doesNotMatch(agent.logs.text, /Alert not delivered/, 'never dropped');
    await first.container.stop({ timeout: 10_000 });

    const second = await startMailer(net, cleanup, { args: ['--token', TOKEN_B] });
    const started = Date.now();
    // The agent's backoff doubles from 0.5 s and is capped at 30 s.
    const { at } = await second.logs.waitFor(DOWN_LINE, 45_000);
    console.log(`  the kept alert reached the new mailer ${at - started} ms after it started`);
    assert.equal(second.logs.count(DOWN_LINE), 1, 'delivered once');
    for (const logs of [agent.logs, first.logs, second.logs]) {
      assert.ok(!logs.text.includes(TOKEN_A) && !logs.text.includes(TOKEN_B), `no token printed by ${logs.name}`);
    }
  });
});
