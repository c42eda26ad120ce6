/**
 * The SMTP channel against a real SMTP server (the smtp-server package) on
 * loopback: what arrives, how 4xx/5xx answers are classified, and that
 * credentials never go in clear text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { createSmtpChannel, smtpChannel } from '../../../mailer/delivery/channels/smtp.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { channelsOf, parseChannelOptions, secretsOf } from '../../support/channel-options.ts';
import { PASSWORD, type Received, startSmtp, type TestSmtp } from '../../support/smtp-server.ts';

/** The options of a send nobody cancels. */
const SEND = { signal: new AbortController().signal };

let mode: 'ok' | 'tempfail' | 'permfail' = 'ok';
let smtp: TestSmtp;
let port = 0;
let received: Received[] = [];
/** The query an smtp:// URL to the test server needs: its certificate is self-signed. */
const SELF_SIGNED = '?tls.rejectUnauthorized=false';

before(async () => {
  smtp = await startSmtp({
    onRcptTo(_address, _session, cb) {
      if (mode === 'tempfail') return cb(Object.assign(new Error('try later'), { responseCode: 451 }));
      if (mode === 'permfail') return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
      cb();
    },
  });
  port = smtp.port;
  received = smtp.received;
});
after(() => smtp.close());

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
  smtp.auths.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://alice:s3cret@127.0.0.1:${port}${SELF_SIGNED}`), 'ch2 <alerts@ch2.test>', 5000);
  try {
    const result = await channel.send(item(), SEND);
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
  smtp.auths.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}${SELF_SIGNED}`), 'alerts@ch2.test', 5000);
  try {
    const result = await channel.send(item({ target: 'http://x/\r\nBcc: victim@evil', message: 'down\r\nX-Injected: yes' }), SEND);
    assert.equal(result.ok, true);
    const headers = received[0]!.raw.split(/\r?\n\r?\n/)[0] ?? '';
    assert.doesNotMatch(headers, /^Bcc:/m);
    assert.doesNotMatch(headers, /^X-Injected:/m);
  } finally {
    await channel.close?.();
  }
});

test('SMTP 4xx is transient, 5xx permanent, bad auth permanent, no server transient', async () => {
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}${SELF_SIGNED}`), 'alerts@ch2.test', 2000);
  const wrongPassword = createSmtpChannel(new URL(`smtp://alice:wrong@127.0.0.1:${port}${SELF_SIGNED}`), 'alerts@ch2.test', 2000);
  const nobody = createSmtpChannel(new URL('smtp://127.0.0.1:1'), 'alerts@ch2.test', 2000);
  try {
    mode = 'tempfail';
    const temp = await channel.send(item(), SEND);
    assert.deepEqual([temp.ok, !temp.ok && temp.retry], [false, true]);
    assert.match(!temp.ok ? temp.error : '', /451/);
    mode = 'permfail';
    const perm = await channel.send(item(), SEND);
    assert.deepEqual([perm.ok, !perm.ok && perm.retry], [false, false]);
    assert.match(!perm.ok ? perm.error : '', /550/);
    mode = 'ok';
    const auth = await wrongPassword.send(item(), SEND);
    assert.deepEqual([auth.ok, !auth.ok && auth.retry], [false, false]);
    assert.doesNotMatch(!auth.ok ? auth.error : '', /wrong/);
    const down = await nobody.send(item(), SEND);
    assert.deepEqual([down.ok, !down.ok && down.retry], [false, true]);
  } finally {
    mode = 'ok';
    await Promise.all([channel.close?.(), wrongPassword.close?.(), nobody.close?.()]);
  }
});

test('the Message-ID comes from the alert id: a resent alert is the same message', async () => {
  received.length = 0;
  smtp.auths.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}${SELF_SIGNED}`), 'alerts@ch2.test', 5000);
  try {
    const first = await channel.send(item(), SEND);
    const again = await channel.send(item(), SEND);
    const other = await channel.send(item({ id: 'it-2' }), SEND);
    assert.deepEqual([first, again, other], [
      { ok: true, detail: '<it-1@ch2>' },
      { ok: true, detail: '<it-1@ch2>' },
      { ok: true, detail: '<it-2@ch2>' },
    ]);
    assert.deepEqual(received.map((m) => headerValue(m.raw, 'Message-ID')), ['<it-1@ch2>', '<it-1@ch2>', '<it-2@ch2>']);
    // An id with characters a Message-ID cannot hold is %-encoded.
    await channel.send(item({ id: 'a:b.c' }), SEND);
    assert.equal(headerValue(received[3]!.raw, 'Message-ID'), '<a%3Ab%2Ec@ch2>');
  } finally {
    await channel.close?.();
  }
});

test('the body gives time, target, reason, and the outage length on recovery', async () => {
  received.length = 0;
  smtp.auths.length = 0;
  mode = 'ok';
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${port}${SELF_SIGNED}`), 'alerts@ch2.test', 5000);
  try {
    const up = item({ id: 'up-1', status: 'up', message: 'The service is back up.', reason: 'HTTP 503', downForMs: 3_723_000, time: '2024-05-01T10:00:00.000Z' });
    assert.equal((await channel.send(up, SEND)).ok, true);
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
  smtp.auths.length = 0;
  mode = 'ok';
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  const opts = parse(['--smtp', `smtp://alice:s3cret@127.0.0.1:${port}${SELF_SIGNED}`, '--smtp', `smtp://bob:s3cret@127.0.0.1:${port}${SELF_SIGNED}`]);
  const channels = channelsOf(smtpChannel, opts, { log, from: 'alerts@ch2.test' });
  try {
    assert.deepEqual(channels.map((c) => c.name), ['smtp', 'smtp-2']);
    for (const c of channels) assert.equal((await c.send(item(), SEND)).ok, true);
    assert.deepEqual(received.map((m) => m.user), ['alice', 'bob']);
  } finally {
    await Promise.all(channels.map((c) => c.close?.()));
  }
  const fromEnv = parse([], { SMTP_URL: 'smtp://a:pw%2Fone@mail1:25, smtps://b:pwtwo@mail2:465 smtp://mail3' });
  assert.deepEqual((fromEnv.smtp as URL[]).map((u) => u.host), ['mail1:25', 'mail2:465', 'mail3']);
  assert.deepEqual(secretsOf(smtpChannel, fromEnv), ['pw/one', 'pw%2Fone', 'pwtwo', 'pwtwo']);
  const three = channelsOf(smtpChannel, fromEnv, { log });
  assert.deepEqual(three.map((c) => c.name), ['smtp', 'smtp-2', 'smtp-3']);
  await Promise.all(three.map((c) => c.close?.()));
  assert.deepEqual(channelsOf(smtpChannel, parse([]), { log }), [], 'no --smtp, no channel');
  assert.throws(() => parse(['--smtp', 'smtp://mail1', '--smtp', 'http://mail2']), /smtp:\/\//);
  assert.throws(() => parse(['--smtp', 'smtp://mail1', '--smtp', 'smtp://mail1']), /given twice/);
});

test('the first test server took the credentials over TLS only', () => {
  // Every AUTH the main server saw in the tests above came after STARTTLS.
  assert.ok(smtp.auths.every((a) => a.secure), JSON.stringify(smtp.auths));
});

async function logged(): Promise<{ log: Awaited<ReturnType<typeof createLogger>>; text: () => string }> {
  const err = new PassThrough();
  let text = '';
  err.on('data', (c: Buffer) => (text += c.toString()));
  const log = await createLogger({ name: 't', format: 'plain', level: 'warn', out: new PassThrough(), err });
  return { log, text: () => text };
}

test('credentials and a server without STARTTLS: the send fails (transient), no AUTH in clear, nothing sent; ?tls=off sends, warned at start', async () => {
  // A server that would take AUTH in clear text, as a downgraded (STARTTLS-stripped) one does.
  const plain = await startSmtp({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
  const { log, text } = await logged();
  const strict = channelsOf(smtpChannel, parse(['--smtp', `smtp://alice:${PASSWORD}@127.0.0.1:${plain.port}`]), { log });
  try {
    assert.doesNotMatch(text(), /tls=off/, 'no warning without the opt-out');
    const r = await strict[0]!.send(item(), SEND);
    assert.deepEqual([r.ok, !r.ok && r.retry], [false, true]);
    assert.match(!r.ok ? r.error : '', /offers no STARTTLS.*never sent in clear.*\?tls=off/);
    assert.deepEqual([plain.auths.length, plain.received.length], [0, 0], 'no AUTH and no message without TLS');
  } finally {
    await strict[0]!.close?.();
  }
  // The explicit opt-out: warned once at start (warn level), then sent in clear with the credentials.
  const lab = channelsOf(smtpChannel, parse(['--smtp', `smtp://alice:${PASSWORD}@127.0.0.1:${plain.port}?tls=off`]), { log });
  assert.match(text(), /^SMTP smtp:\/\/127\.0\.0\.1:\d+ \(smtp\): \?tls=off: no STARTTLS, the credentials go in clear text/i);
  assert.doesNotMatch(text(), new RegExp(PASSWORD));
  try {
    const r = await lab[0]!.send(item(), SEND);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(plain.received.map((m) => [m.user, m.secure]), [['alice', false]]);
  } finally {
    await lab[0]!.close?.();
    await plain.close();
  }
});

test('credentials and a server that offers no AUTH: the send fails with that reason, rather than going out unauthenticated', async () => {
  const noAuth = await startSmtp({ disabledCommands: ['AUTH'] });
  const channel = createSmtpChannel(new URL(`smtp://alice:${PASSWORD}@127.0.0.1:${noAuth.port}${SELF_SIGNED}`), 'alerts@ch2.test', 2000);
  try {
    const r = await channel.send(item(), SEND);
    assert.deepEqual([r.ok, !r.ok && r.retry], [false, true]);
    assert.match(!r.ok ? r.error : '', /offers no AUTH, so the credentials in --smtp cannot be used/);
    assert.equal(noAuth.received.length, 0, 'nothing sent unauthenticated');
  } finally {
    await channel.close?.();
    await noAuth.close();
  }
});

test('an aborted send stops: nodemailer closes its connection, the server gets no message, the send settles transient', async () => {
  // A server that never answers DATA's end: the send hangs until it is cancelled.
  let sessions = 0;
  let closed = 0;
  const stuck = await startSmtp({
    onConnect(_session, cb) {
      sessions += 1;
      cb();
    },
    onClose() {
      closed += 1;
    },
    onData(stream) {
      stream.resume(); // read it all, never answer
    },
  });
  const channel = createSmtpChannel(new URL(`smtp://127.0.0.1:${stuck.port}${SELF_SIGNED}`), 'alerts@ch2.test', 5000);
  try {
    const controller = new AbortController();
    const pending = channel.send(item(), { signal: controller.signal });
    while (sessions === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const r = await pending;
    assert.deepEqual(r, { ok: false, retry: true, error: 'SMTP send cancelled' });
    while (closed === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(stuck.received.length, 0);
  } finally {
    await channel.close?.();
    await stuck.close();
  }
});

test('SMTP URLs are checked at start, never echoed: bad %-encoding, unknown parameters, a path, tls=off with smtps', () => {
  for (const [url, re] of [
    ['smtp://alice:100%@mail1:587', /--smtp \/ SMTP_URL: the password in the URL is not valid %-encoding: write a % in it as %25/],
    ['smtp://al%E0ice:pw100@mail1', /the user name in the URL is not valid %-encoding/],
    ['smtp://alice:pw100@mail1?requireTLS=true', /unknown parameter in the URL; known: tls=off, tls\.rejectUnauthorized=true\|false/],
    ['smtp://alice:pw100@mail1?tls=on', /\?tls takes off/],
    ['smtp://alice:pw100@mail1?tls.rejectUnauthorized=no', /\?tls\.rejectUnauthorized takes true or false/],
    ['smtps://alice:pw100@mail1?tls=off', /contradicts smtps/],
    ['smtp://alice:pw100@mail1/inbox', /no path/],
    ['smtp://:pw100@mail1', /a password but no user name/],
    ['http://alice:pw100@mail1', /expected a URL starting smtp:\/\/ or smtps:\/\//],
  ] as const) {
    assert.throws(() => parse(['--smtp', url]), (err: Error) => {
      assert.equal(err.name, 'ConfigError', `${url}: a ConfigError, which commander does not echo`);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /100%|pw100|alice/, 'the value is not in the message');
      return true;
    });
  }
  // Well-formed: %25 in a password, both known parameters.
  const ok = parse(['--smtp', 'smtp://alice:100%25@mail1:25?tls=off&tls.rejectUnauthorized=false']);
  assert.deepEqual(secretsOf(smtpChannel, ok), ['100%', '100%25']);
});
