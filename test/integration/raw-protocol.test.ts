/**
 * The book's raw protocol both ways: the text from `printf … | nc` into our
 * mailer, and our agent (--mailer-protocol raw) into the book's mailer
 * (fixture ch2/book-mailer, `nc -l -p 33333` in a loop).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup, IMAGES, MAILER_STARTED, startAgent, startContainer, type Started, type StartedNetwork, startMailer, startNginx, SYSTEM_UP, uniqueName, Wait, withSuiteNetwork } from './helpers.ts';

const BOOK_TEXT = 'To: admin@work  Message: The service is down!';
const BOOK_LINE = /Sending email: To: admin@work {2}Message: The service is down!/;

describe('raw protocol', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  withSuiteNetwork(cleanup, (n) => (net = n));

  /** The stand-in of the book's mailer (`nc -l -p 33333` in a loop) under `alias`. */
  const startBookMailer = (alias: string): Promise<Started> =>
    startContainer(IMAGES.bookMailer, net, cleanup, {
      aliases: [alias],
      wait: Wait.forLogMessage(MAILER_STARTED),
      name: uniqueName('bookmailer'),
    });

  test("printf '…' | nc insidemailer 33333 from busybox: our mailer logs the text as sent", { timeout: 40_000 }, async () => {
    const mailer = await startMailer(net, cleanup, { aliases: ['rawmailer'] });
    const client = await startContainer(IMAGES.busybox, net, cleanup, {
      args: ['sh', '-c', `printf '${BOOK_TEXT}' | nc rawmailer 33333; echo "nc exit $?"`],
      wait: Wait.forLogMessage(/nc exit \d+/),
      name: uniqueName('nc'),
    });
    const { match } = await client.logs.waitFor(/nc exit (\d+)/, 10_000);
    assert.equal(match[1], '0', `nc failed:\n${client.logs.tail()}`);
    await mailer.logs.waitFor(BOOK_LINE, 10_000);
    // Exactly the line, nothing appended or collapsed.
    const line = mailer.logs.text.split('\n').find((l) => l.startsWith('Sending email:'));
    assert.equal(line, `Sending email: ${BOOK_TEXT}`);
    assert.doesNotMatch(mailer.logs.text, /Refused/);
  });

  test('our agent with --mailer-protocol raw into the book\'s mailer', { timeout: 60_000 }, async () => {
    let web: Started | undefined = await startNginx(net, cleanup, 'rawweb');
    const bookMailer = await startBookMailer('bookmailer');
    const agent = await startAgent(net, cleanup, {
      args: ['--mailer-protocol', 'raw', '--target', 'http://rawweb/', '--mailer', 'bookmailer:33333'],
    });
    await agent.logs.waitFor(SYSTEM_UP, 10_000);
    const stopReturned = await web.container.stop({ timeout: 10_000 }).then(() => Date.now());
    web = undefined;
    const { at } = await bookMailer.logs.waitFor(BOOK_LINE, 15_000);
    console.log(`  the book's mailer printed the alert ${at - stopReturned} ms after nginx stopped`);
    const line = bookMailer.logs.text.split('\n').find((l) => l.startsWith('Sending email:'));
    assert.equal(line, `Sending email: ${BOOK_TEXT}`);
  });

  test('our agent with --mailer-protocol raw and a target that refuses connections', { timeout: 40_000 }, async () => {
    const bookMailer = await startBookMailer('bookmailer2');
    const agent = await startAgent(net, cleanup, {
      args: ['--mailer-protocol', 'raw', '--target', 'http://127.0.0.1:9/', '--mailer', 'bookmailer2:33333'],
      wait: Wait.forLogMessage(/System down: /),
    });
    await bookMailer.logs.waitFor(BOOK_LINE, 15_000);
    assert.match(agent.logs.text, /Alert: http:\/\/127\.0\.0\.1:9\/ is down/);
    assert.doesNotMatch(agent.logs.text, /System up\./);
  });
});
