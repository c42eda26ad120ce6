/** A real SMTP server (the smtp-server package) on loopback that records what it is given. */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: string;
  user?: string;
  /** The message came over TLS (STARTTLS). */
  secure: boolean;
}

export interface TestSmtp {
  port: number;
  received: Received[];
  /** AUTH attempts the server saw (with the password it was given). */
  auths: { user: string; password: string; secure: boolean }[];
  close(): Promise<void>;
}

export const PASSWORD = 's3cret';

/**
 * Offers STARTTLS (smtp-server's own self-signed certificate) and AUTH after
 * it; `options` changes that. A password other than PASSWORD is refused (535).
 */
export async function startSmtp(options: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const received: Received[] = [];
  const auths: TestSmtp['auths'] = [];
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    onAuth(auth, session, cb) {
      auths.push({ user: auth.username ?? '', password: auth.password ?? '', secure: session.secure });
      if (auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          ...(session.user ? { user: String(session.user) } : {}),
          secure: session.secure,
        });
        cb();
      });
    },
    ...options,
  });
  server.on('error', () => {}); // a client that hangs up mid-session is not the test's failure
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    auths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
