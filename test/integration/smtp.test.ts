/**
 * Real e-mail: our mailer with --smtp into the ch2/smtp-sink fixture (alias
 * "smtp"), an alert POSTed from the host through the mapped port, the message
 * read back from the sink's HTTP API. The SMTP password never reaches the log.
 * A sink answering 451 makes the mailer retry; once it accepts again the alert
 * is delivered exactly once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import {
  Cleanup,
  http,
  IMAGES,
  startContainer,
  startSmtpSink,
  startMailer,
  startNetwork,
  uniqueName,
  Wait,
  waitUntil,
  type Started,
  type StartedNetwork,
} from './helpers.ts';

const TARGET = 'http://insideweb:80/';
const PASSWORD = 's3cret';

describe('SMTP delivery through ch2/smtp-sink', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  let net: StartedNetwork;
  let sink: Started & { api: string };
  let mailer: Started;
  let sinkApi: string;
  let mailerUrl: string;

  const messages = async (): Promise<StoredMessage[]> => {
    const r = await http('GET', `${sinkApi}/messages`);
    assert.equal(r.status, 200);
    return r.json as StoredMessage[];
  };
  const messagesWithId = async (id: string): Promise<StoredMessage[]> => (await messages()).filter((m) => m.raw.includes(id));
  const setMode = async (mode: string): Promise<void> => {
    const r = await http('POST', `${sinkApi}/mode`, { mode });
    assert.equal(r.status, 200, `POST /mode ${mode}: ${r.text}`);
  };

  before(async () => {
    net = await startNetwork(cleanup);
    sink = await startSmtpSink(net, cleanup);
    sinkApi = sink.api;
    mailer = await startMailer(net, cleanup, {
      aliases: ['insidemailer'],
      args: ['--smtp', `smtp://alice:${PASSWORD}@smtp:2525?tls=off`, '--from', 'ch2 alerts <alerts@work>'],
    });
    mailerUrl = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
  }, { timeout: 60_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('an alert POSTed to /alerts arrives as an e-mail', { timeout: 30_000 }, async () => {
    const time = new Date().toISOString();
    const post = await http('POST', `${mailerUrl}/alerts`, {
      message: 'The service is down!',
      status: 'down',
      target: TARGET,
      reason: 'connection refused',
      time,
    });
    assert.equal(post.status, 202, post.text);
    const id = (post.json as { id: string }).id;
    assert.ok(id, 'the 202 answer carries the alert id');

    const [mail] = await waitUntil('the e-mail in the sink', async () => {
      const found = await messagesWithId(id);
      return found.length > 0 ? found : undefined;
    }, 15_000, 200);
    assert.ok(mail);
    assert.deepEqual(mail.to, ['admin@work']);
    assert.equal(mail.from, 'alerts@work');
    assert.equal(mail.user, 'alice', 'the mailer authenticated with the URL\'s user');
    assert.equal(mail.subject, `[DOWN] ${TARGET} — The service is down!`);
    assert.match(mail.text, /The service is down!/);
    assert.match(mail.text, /Status: +DOWN/);
    assert.match(mail.text, new RegExp(`Target: +${TARGET.replace(/[/.]/g, '\\$&')}`));
    assert.match(mail.text, /Reason: +connection refused/);
    assert.match(mail.text, new RegExp(`Time: +${time.replace(/\./g, '\\.')}`));

    await mailer.logs.waitFor(new RegExp(`Delivered alert ${id} via smtp\\.`), 10_000);
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 5_000);
    assert.equal((await messagesWithId(id)).length, 1, 'one e-mail per alert');
    assert.ok(!mailer.logs.text.includes(PASSWORD), `the SMTP password is in the mailer log:\n${mailer.logs.tail()}`);
  });

  test('a 451 from the SMTP server is retried; the alert is delivered once it accepts', { timeout: 45_000 }, async () => {
    await setMode('tempfail');
    try {
      const from = mailer.logs.mark();
      const post = await http('POST', `${mailerUrl}/alerts`, { message: 'The service is down!', target: TARGET, reason: 'HTTP 503' });
      assert.equal(post.status, 202, post.text);
      const id = (post.json as { id: string }).id;
      // The log channel is independent of SMTP: the book's line comes at once.
      await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 5_000, from);
      const { match } = await mailer.logs.waitFor(new RegExp(`Alert ${id} via smtp failed: SMTP 451[^\\n]*retry 1 in [\\d.]+s\\.`), 15_000, from);
      console.log(`  mailer: ${match[0]}`);
      assert.equal((await messagesWithId(id)).length, 0, 'nothing delivered while the server answers 451');
      await setMode('');
      await mailer.logs.waitFor(new RegExp(`Delivered alert ${id} via smtp\\.`), 25_000, from);
      const mails = await waitUntil('the e-mail in the sink', async () => {
        const found = await messagesWithId(id);
        return found.length > 0 ? found : undefined;
      }, 5_000, 200);
      // No send or retry left under way (the mailer's /healthz counts them): nothing more can arrive.
      await waitUntil('no deliveries active in the mailer', async () => {
        const h = await http('GET', `${mailerUrl}/healthz`);
        return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
      }, 10_000, 200);
      assert.equal((await messagesWithId(id)).length, 1, 'delivered exactly once');
      assert.equal(mails[0]?.subject, `[DOWN] ${TARGET} — The service is down!`);
      assert.equal(mailer.logs.count(new RegExp(`Delivered alert ${id} via smtp`), from), 1);
      assert.doesNotMatch(mailer.logs.text.slice(from), new RegExp(`Alert ${id} not delivered`));
    } finally {
      await setMode('').catch(() => {});
    }
    assert.ok(!mailer.logs.text.includes(PASSWORD), 'the SMTP password is in the mailer log');
  });

  test('a 550 from the SMTP server is a dead letter, not retried', { timeout: 30_000 }, async () => {
    await setMode('permfail');
    try {
      const from = mailer.logs.mark();
      const post = await http('POST', `${mailerUrl}/alerts`, { message: 'The service is down!', target: TARGET });
      assert.equal(post.status, 202, post.text);
      const id = (post.json as { id: string }).id;
      await mailer.logs.waitFor(new RegExp(`Alert ${id} not delivered via smtp \\(dead letter\\): SMTP 550`), 15_000, from);
      assert.doesNotMatch(mailer.logs.text.slice(from), new RegExp(`Alert ${id} via smtp failed`));
    } finally {
      await setMode('').catch(() => {});
    }
  });
  test('STARTTLS: with ?tls.rejectUnauthorized=false the mail goes over TLS to a self-signed server', { timeout: 45_000 }, async () => {
    const tlsSink = await startContainer(IMAGES.smtpSink, net, cleanup, {
      aliases: ['smtp-tls'],
      exposed: [8025],
      wait: Wait.forLogMessage(/smtp-sink listening smtp=2525 http=8025 starttls=on/),
      name: uniqueName('smtp-tls'),
    });
    const tlsApi = `http://${tlsSink.container.getHost()}:${tlsSink.container.getMappedPort(8025)}`;
    const tlsMailer = await startMailer(net, cleanup, {
      aliases: ['tlsmailer'],
      env: { SMTP_URL: `smtp://alice:${PASSWORD}@smtp-tls:2525?tls.rejectUnauthorized=false` },
    });
    const url = `http://${tlsMailer.container.getHost()}:${tlsMailer.container.getMappedPort(33333)}`;
    const post = await http('POST', `${url}/alerts`, { message: 'The service is down!', target: TARGET });
    assert.equal(post.status, 202, post.text);
    const id = (post.json as { id: string }).id;
    const mails = await waitUntil('the e-mail in the TLS sink', async () => {
      const r = await http('GET', `${tlsApi}/messages`);
      const found = (r.json as StoredMessage[]).filter((m) => m.raw.includes(id));
      return found.length > 0 ? found : undefined;
    }, 15_000, 200);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]?.secure, true, 'the session was upgraded with STARTTLS');
    assert.equal(mails[0]?.user, 'alice');
    assert.ok(!tlsMailer.logs.text.includes(PASSWORD), 'the SMTP password (from SMTP_URL) is in the mailer log');
  });
});
