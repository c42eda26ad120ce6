/**
 * The book's own commands, through the docker CLI on the default bridge with
 * legacy --link (the agent reads INSIDEWEB_PORT_80_TCP_* and
 * INSIDEMAILER_PORT_33333_TCP_*). The book runs the agent with -it; here -d,
 * as there is no TTY. Also the book's agent (fixture ch2/book-agent) against
 * our mailer, over the raw protocol.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { follow, startBookPair } from './book-links.ts';
import { Cleanup, dockerOk, IMAGES, SYSTEM_UP, TEST_LABEL, uniqueName, waitUntil, docker } from './helpers.ts';

describe('legacy --link: the book\'s commands', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  /**
   * The book's three commands: web (nginx), mailer (ours), and an agent image run with
   * `--link web:insideweb --link mailer:insidemailer`; returns once the mailer has
   * started and the agent has printed "System up.".
   */
  async function bookTrio(agentImage: string, agentRole: string) {
    const { web, mailer, mailerLogs, links } = await startBookPair(cleanup);
    const agent = uniqueName(agentRole);
    cleanup.names(agent);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', agent, ...links, agentImage]);
    const agentLogs = follow(cleanup, agent, agentRole);
    await agentLogs.waitFor(SYSTEM_UP, 15_000);
    return { web, mailer, agent, mailerLogs, agentLogs };
  }

  test('docker run … --link web:insideweb --link mailer:insidemailer ch2/agent', { timeout: 50_000 }, async () => {
    const { web, mailerLogs, agentLogs } = await bookTrio(IMAGES.agent, 'agent');
    assert.doesNotMatch(mailerLogs.text, /Sending email/);

    const stop = await dockerOk(['stop', web], { timeoutMs: 20_000 });
    const stopReturned = Date.now();
    const { at } = await mailerLogs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000);
    const ms = at - stopReturned;
    console.log(`  docker stop web took ${Math.round(stop.ms)} ms; the mailer logged the alert ${ms} ms after it returned`);
    assert.ok(ms <= 2_000, `the alert came ${ms} ms after docker stop returned (acceptance: within 2000)`);
    // The name the alert gives is the link alias, not the container's IP.
    assert.match(agentLogs.text, /Alert: http:\/\/insideweb:80\/ is down/);
  });

  test('the book\'s agent (ch2/book-agent) against our mailer, over links', { timeout: 50_000 }, async () => {
    const { web, agent, mailerLogs } = await bookTrio(IMAGES.bookAgent, 'bookagent');

    await dockerOk(['stop', web], { timeoutMs: 20_000 });
    const stopReturned = Date.now();
    // The book's raw text, kept as sent: two spaces before "Message:".
    const { at } = await mailerLogs.waitFor(/Sending email: To: admin@work {2}Message: The service is down!/, 15_000);
    console.log(`  our mailer logged the book agent's alert ${at - stopReturned} ms after docker stop returned`);
    // The book's agent exits 1 once it has sent its one message.
    const exit = await waitUntil(
      'the book agent to exit',
      async () => {
        const r = await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', agent]);
        const [running, code] = r.stdout.trim().split(' ');
        return running === 'false' ? Number(code) : undefined;
      },
      10_000,
      200,
    );
    assert.equal(exit, 1);
    assert.doesNotMatch(mailerLogs.text, /Refused/);
  });
});
