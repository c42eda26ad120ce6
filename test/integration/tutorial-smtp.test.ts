/**
 * The tutorial with real e-mail: the book's three commands over legacy
 * --link on the default bridge, the mailer started with -e SMTP_URL pointing
 * at a real SMTP server (ch2/smtp-sink). `docker stop web` produces an
 * e-mail to admin@work whose subject names the target and whose body says
 * why; starting web again produces the recovery e-mail with the outage's
 * length.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import { Cleanup, containerIp, dockerOk, followDockerLogs, http, IMAGES, MAILER_STARTED, SYSTEM_UP, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

describe('the tutorial with SMTP_URL: docker stop web sends a real e-mail', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('down and up e-mails to admin@work name the target', { timeout: 120_000 }, async () => {
    const web = uniqueName('web');
    const smtp = uniqueName('smtp');
    const mailer = uniqueName('mailer');
    const agent = uniqueName('agent');
    cleanup.names(agent, mailer, smtp, web);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', smtp, '-e', 'SMTP_STARTTLS=off', IMAGES.smtpSink]);
    const sinkApi = `http://${await containerIp(smtp)}:8025`;
    await waitUntil('the SMTP server', async () => ((await http('GET', `${sinkApi}/healthz`)).status === 200 ? true : undefined), 20_000, 200);
    const messages = async (): Promise<StoredMessage[]> => (await http('GET', `${sinkApi}/messages`)).json as StoredMessage[];

    // The book's commands, plus the SMTP server's address for the mailer.
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', web, IMAGES.nginx]);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', mailer, '--link', `${smtp}:smtp`, '-e', 'SMTP_URL=smtp://smtp:2525', IMAGES.mailer]);
    const mailerLogs = followDockerLogs(mailer);
    cleanup.defer('stop docker logs -f (mailer)', mailerLogs.stop);
    await mailerLogs.logs.waitFor(MAILER_STARTED, 15_000);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', agent, '--link', `${web}:insideweb`, '--link', `${mailer}:insidemailer`, IMAGES.agent]);
    const agentLogs = followDockerLogs(agent);
    cleanup.defer('stop docker logs -f (agent)', agentLogs.stop);
    await agentLogs.logs.waitFor(SYSTEM_UP, 15_000);
    assert.deepEqual(await messages(), []);

    await dockerOk(['stop', web], { timeoutMs: 20_000 });
    await mailerLogs.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000);
    const [down] = await waitUntil('the down e-mail', async () => ((await messages()).length >= 1 ? messages() : undefined), 30_000, 200);
    assert.deepEqual(down?.to, ['admin@work']);
    assert.equal(down?.subject, '[DOWN] http://insideweb:80/ — The service is down!');
    assert.match(down?.text ?? '', /Target:\s+http:\/\/insideweb:80\//);
    assert.match(down?.text ?? '', /Reason:\s+\S/);

    await dockerOk(['start', web], { timeoutMs: 20_000 });
    const all = await waitUntil('the up e-mail', async () => ((await messages()).length >= 2 ? messages() : undefined), 30_000, 200);
    const up = all[1];
    assert.match(up?.subject ?? '', /^\[UP\] http:\/\/insideweb:80\/ — /);
    assert.match(up?.text ?? '', /Down for:\s+\d+/);
    assert.equal(all.length, 2, 'one e-mail per change');
  });
});
