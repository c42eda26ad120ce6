/**
 * The SMTP channel against a real SMTP server (the smtp-server package) on
 * loopback: what arrives, and how 4xx/5xx answers are classified.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { createSmtpChannel, smtpChannel } from '../../../mailer/delivery/channels/smtp.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { parseChannelOptions } from '../../support/channel-options.ts';

interface Received {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

const received: Received[] = [];
let mode: 'ok' | 'tempfail' | 'permfail' = 'ok';
let port = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.password === 's3cret') cb(null, { user: auth.username });
    else cb(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
  },
  onRcptTo(address, _session, cb) {
    if (mode === 'tempfail') return cb(Object.assign(new Error('try later'), { responseCode: 451 }));
    if (mode === 'permfail') return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
    cb();
  },
  onData(stream, session, cb) {
    let raw = '';
    stream.on('data', (c: Buffer) => (raw += c.toString()));
    stream.on('end', () => {
      received.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        raw,
        ...(session.user ? { user: String(session.user) } : {}),
      });
      cb();
    });
  },
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** One header's value, unfolded, with RFC 2047 encoded words decoded. */
function headerValue(raw: string, name: string): string | undefined {
  const head = (raw.split(/\r?\n\r?\n/)[0] ?? '').replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (!line) return undefined;
  return line
    .slice(name.length + 1)
    .trim()
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) => {
      if (enc.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
      const bytes = text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => `%${h}`);
      return decodeURIComponent(bytes);
    });
}

function item(overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert {
  return {
    alert: {
      id: 'it-1',
      to: 'admin@work',
      message: 'The service is down!',
      status: 'down',
      target: 'http://insideweb:80/',
      reason: 'connection refused',
      ...overrides,
    },
    line: 'To: admin@work Message: The service is down!',
    via: 'json',
    receivedAt: Date.now(),
  };
}

test('delivers a real e-mail: recipient, subject naming status and target, body with the reason', async () => {
  received.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://alice:s3cret@127.0.0.1:${port}`), 'ch2 <alerts@ch2.test>', 5000);
  try {
    const result = await channel.send(item());
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(received.length, 1);
    const mail = received[0]!;
    assert.deepEqual(mail.to, ['admin@work']);
    assert.equal(mail.from, 'alerts@ch2.test');
    assert.equal(mail.user, 'alice');
    assert.equal(headerValue(mail.raw, 'Subject'), '[DOWN] http://insideweb:80/ — The service is down!');
    assert.match(mail.raw, /Reason: +connection refused/);
    assert.match(mail.raw, /Target: +http:\/\/insideweb:80\//);
    assert.match(mail.raw, /X-Ch2-Alert-Id: it-1/i);
  } finally {
    await channel.close?.();
  }
});

test('CR/LF in alert data never makes a header', async () => {
  received.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}`), 'alerts@ch2.test', 5000);
  try {
    const result = await channel.send(item({ target: 'http://x/\r\nBcc: victim@evil', message: 'down\r\nX-Injected: yes' }));
    assert.equal(result.ok, true);
    const headers = received[0]!.raw.split(/\r?\n\r?\n/)[0] ?? '';
    assert.doesNotMatch(headers, /^Bcc:/m);
    assert.doesNotMatch(headers, /^X-Injected:/m);
  } finally {
    await channel.close?.();
  }
});

test('SMTP 4xx is transient, 5xx permanent, bad auth permanent, no server transient', async () => {
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}`), 'alerts@ch2.test', 2000);
  const wrongPassword = createSmtpChannel(new URL(`smtp://alice:wrong@127.0.0.1:${port}`), 'alerts@ch2.test', 2000);
  const nobody = createSmtpChannel(new URL('smtp://127.0.0.1:1'), 'alerts@ch2.test', 2000);
  try {
    mode = 'tempfail';
    const temp = await channel.send(item());
    assert.deepEqual([temp.ok, !temp.ok && temp.retry], [false, true]);
    assert.match(!temp.ok ? temp.error : '', /451/);
    mode = 'permfail';
    const perm = await channel.send(item());
    assert.deepEqual([perm.ok, !perm.ok && perm.retry], [false, false]);
    assert.match(!perm.ok ? perm.error : '', /550/);
    mode = 'ok';
    const auth = await wrongPassword.send(item());
    assert.deepEqual([auth.ok, !auth.ok && auth.retry], [false, false]);
    assert.doesNotMatch(!auth.ok ? auth.error : '', /wrong/);
    const down = await nobody.send(item());
    assert.deepEqual([down.ok, !down.ok && down.retry], [false, true]);
  } finally {
    mode = 'ok';
    await Promise.all([channel.close?.(), wrongPassword.close?.(), nobody.close?.()]);
  }
});

test('the Message-ID comes from the alert id: a resent alert is the same message', async () => {
  received.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}`), 'alerts@ch2.test', 5000);
  try {
    const first = await channel.send(item());
    const again = await channel.send(item());
    const other = await channel.send(item({ id: 'it-2' }));
    assert.deepEqual([first, again, other], [
      { ok: true, detail: '<it-1@ch2>' },
      { ok: true, detail: '<it-1@ch2>' },
      { ok: true, detail: '<it-2@ch2>' },
    ]);
    assert.deepEqual(received.map((m) => headerValue(m.raw, 'Message-ID')), ['<it-1@ch2>', '<it-1@ch2>', '<it-2@ch2>']);
    // An id with characters a Message-ID cannot hold is %-encoded.
    await channel.send(item({ id: 'a:b.c' }));
    assert.equal(headerValue(received[3]!.raw, 'Message-ID'), '<a%3Ab%2Ec@ch2>');
  } finally {
    await channel.close?.();
  }
});

test('the body gives time, target, reason, and the outage length on recovery', async () => {
  received.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}`), 'alerts@ch2.test', 5000);
  try {
    const up = item({ id: 'up-1', status: 'up', message: 'The service is back up.', reason: 'HTTP 503', downForMs: 3_723_000, time: '2024-05-01T10:00:00.000Z' });
    assert.equal((await channel.send(up)).ok, true);
    const raw = received[0]!.raw;
    assert.equal(headerValue(raw, 'Subject'), '[UP] http://insideweb:80/ — The service is back up.');
    assert.match(raw, /Time: +2024-05-01T10:00:00\.000Z/);
    assert.match(raw, /Target: +http:\/\/insideweb:80\//);
    assert.match(raw, /Reason: +HTTP 503/);
    assert.match(raw, /Down for: +1h 2m/);
  } finally {
    await channel.close?.();
  }
});

function parse(argv: string[], env: Record<string, string> = {}): Record<string, unknown> {
  return parseChannelOptions(smtpChannel, argv, env);
}

test('--smtp is repeatable (SMTP_URL a list): one channel per server, smtp, smtp-2, each delivers; every password is a secret', async () => {
  received.length = 0;
  mode = 'ok';
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  const opts = parse(['--smtp', `smtp://alice:s3cret@127.0.0.1:${port}`, '--smtp', `smtp://bob:s3cret@127.0.0.1:${port}`, '--from', 'alerts@ch2.test']);
  const channels = smtpChannel.create(opts, { log });
  try {
    assert.deepEqual(channels.map((c) => c.name), ['smtp', 'smtp-2']);
    for (const c of channels) assert.equal((await c.send(item())).ok, true);
    assert.deepEqual(received.map((m) => m.user), ['alice', 'bob']);
  } finally {
    await Promise.all(channels.map((c) => c.close?.()));
  }
  const fromEnv = parse([], { SMTP_URL: 'smtp://a:pw%2Fone@mail1:25, smtps://b:pwtwo@mail2:465 smtp://mail3' });
  assert.deepEqual((fromEnv.smtp as URL[]).map((u) => u.host), ['mail1:25', 'mail2:465', 'mail3']);
  assert.deepEqual(smtpChannel.secrets!(fromEnv), ['pw/one', 'pw%2Fone', 'pwtwo', 'pwtwo']);
  const three = smtpChannel.create(fromEnv, { log });
  assert.deepEqual(three.map((c) => c.name), ['smtp', 'smtp-2', 'smtp-3']);
  await Promise.all(three.map((c) => c.close?.()));
  assert.deepEqual(smtpChannel.create(parse([]), { log }), [], 'no --smtp, no channel');
  assert.throws(() => parse(['--smtp', 'smtp://mail1', '--smtp', 'http://mail2']), /smtp:\/\//);
  assert.throws(() => parse(['--smtp', 'smtp://mail1', '--smtp', 'smtp://mail1']), /given twice/);
});
