/**
 * The SMTP channel against a real SMTP server (the smtp-server package) on
 * loopback: what arrives, and how 4xx/5xx answers are classified.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createSmtpChannel } from '../../../mailer/channels/smtp.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';

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
