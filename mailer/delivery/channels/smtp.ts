/**
 * Real e-mail over SMTP with nodemailer: `--smtp smtp://user:pass@host:587`
 * (STARTTLS) or `smtps://…:465` (TLS), a pooled transport with timeouts.
 *
 * Credentials never go in clear text: a URL with a user name requires
 * STARTTLS (nodemailer's requireTLS), and a server that does not offer it
 * fails the send (transient, with the reason). `?tls=off` is the explicit
 * opt-out for a lab server: no STARTTLS at all, credentials in clear, and a
 * warning at start. A URL without credentials uses STARTTLS when offered.
 * `?tls.rejectUnauthorized=false` accepts a self-signed certificate. Any
 * other query parameter is refused at start.
 *
 * Credentials are never silently dropped: nodemailer is told to AUTH even
 * when the server advertises no AUTH (forceAuth), so such a server fails the
 * send (transient, "offers no AUTH") instead of taking mail unauthenticated.
 *
 * SMTP 4xx, timeouts and network errors are transient; 5xx and rejected
 * authentication are permanent.
 *
 * At most maxConnections messages are sent at once (the channel's
 * concurrency, so none waits in nodemailer's pool), and the dispatcher's
 * AbortSignal goes to nodemailer, which closes the connection of a cancelled
 * send.
 *
 * `--smtp` may be given more than once (SMTP_URL: a comma- or space-separated
 * list): one channel per server, named smtp, smtp-2, …. The Message-ID comes
 * from the alert id (`<id@ch2>`), so a resent alert is the same message.
 *
 * A bad URL is a ConfigError, which does not echo it (it may hold a password).
 */
import { createTransport, type Transporter } from 'nodemailer';
import { InvalidArgumentError } from 'commander';
import { parseRecipient } from '../../../shared/address.ts';
import { ConfigError, durationArg, envOption, listArg } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { DEFAULT_FROM, emailMessage, headerSafe } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelKind } from './channel.ts';

export { DEFAULT_FROM };

/** Connections (and so sends at once) per SMTP server. */
export const SMTP_POOL_SIZE = 2;
const WHERE = '--smtp / SMTP_URL';
/** The query parameters an SMTP URL may carry, and the values each takes. */
const PARAMS: Record<string, readonly string[]> = { tls: ['off'], 'tls.rejectUnauthorized': ['true', 'false'] };

/** A URL's user name or password, %-decoded; a ConfigError (without the value) when it is not valid %-encoding. */
function decoded(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigError(`${WHERE}: the ${what} in the URL is not valid %-encoding: write a % in it as %25 (the URL is not shown: it holds a secret).`);
  }
}

export function smtpUrlArg(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(`${WHERE}: expected smtp://host:port or smtps://host:port, with user and password before the host if needed (the value is not shown: it may hold a password; %-encode @ : / % in it).`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(`${WHERE}: expected a URL starting smtp:// or smtps://, not ${url.protocol}// (the rest is not shown).`);
  }
  if (!url.hostname) throw new ConfigError(`${WHERE}: the URL has no host.`);
  if (url.pathname !== '' && url.pathname !== '/') throw new ConfigError(`${WHERE}: an SMTP URL has no path (after the host and port).`);
  decoded(url.username, 'user name');
  decoded(url.password, 'password');
  if (url.password && !url.username) throw new ConfigError(`${WHERE}: the URL has a password but no user name.`);
  for (const [name, value] of url.searchParams) {
    const allowed = PARAMS[name];
    if (!allowed) {
      throw new ConfigError(`${WHERE}: unknown parameter in the URL; known: ${Object.entries(PARAMS).map(([k, v]) => `${k}=${v.join('|')}`).join(', ')}.`);
    }
    if (!allowed.includes(value)) throw new ConfigError(`${WHERE}: ?${name} takes ${allowed.join(' or ')}.`);
  }
  if (url.protocol === 'smtps:' && url.searchParams.get('tls') === 'off') {
    throw new ConfigError(`${WHERE}: ?tls=off contradicts smtps:// (TLS from the first byte); use smtp:// for a server without TLS.`);
  }
  return url;
}

/** The server of an SMTP URL for logs and errors: scheme, host and port, no credentials. */
export function smtpServerName(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Commander parser: repeatable; each value (and SMTP_URL) may be a comma- or space-separated list. */
const smtpUrlList = listArg(smtpUrlArg, {
  separator: /[\s,]+/,
  key: (url) => url.href,
  twice: () => new ConfigError(`${WHERE}: the same SMTP URL is given twice (the value is not shown).`),
});

function smtpUrls(opts: Record<string, unknown>): URL[] {
  const value = opts.smtp as URL[] | URL | undefined;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function fromArg(text: string): string {
  const value = text.trim();
  const address = /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
  if (/[\r\n]/.test(value) || !parseRecipient(address).ok) {
    throw new InvalidArgumentError('Expected an address such as alerts@example.com or "ch2 <alerts@example.com>".');
  }
  return value;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  command?: string;
}

/** Transient or permanent, from nodemailer's error. */
export function classifySmtpError(err: unknown): SendResult {
  const e = err as SmtpError;
  const detail = headerSafe(e.response ?? e.message ?? String(err), 300);
  if (e.code === 'ETLS' && /STARTTLS/i.test(`${e.command ?? ''} ${e.message ?? ''}`)) {
    return transient(`SMTP server offers no STARTTLS, and credentials are never sent in clear (add ?tls=off for a lab server): ${detail}`);
  }
  if (e.code === 'EAUTH' && /^AUTH/i.test(e.command ?? '') && [500, 502, 503, 504].includes(e.responseCode ?? 0)) {
    return transient(`SMTP server offers no AUTH, so the credentials in --smtp cannot be used (enable AUTH on the server, or drop user:password from the URL): ${detail}`);
  }
  if (e.code === 'EAUTH') return permanent(`SMTP authentication failed: ${detail}`);
  if (typeof e.responseCode === 'number') {
    if (e.responseCode >= 500) return permanent(`SMTP ${e.responseCode}: ${detail}`);
    if (e.responseCode >= 400) return transient(`SMTP ${e.responseCode}: ${detail}`);
  }
  if (e.code === 'EABORT' || (err as Error).name === 'AbortError') return transient('SMTP send cancelled');
  return transient(`SMTP ${e.code ?? 'error'}: ${detail}`);
}

export function createSmtpChannel(url: URL, from: string, timeoutMs: number, name = 'smtp', log?: Logger): Channel {
  const secure = url.protocol === 'smtps:';
  const tlsOff = url.searchParams.get('tls') === 'off';
  const user = decoded(url.username, 'user name');
  if (tlsOff) {
    log?.warn(`SMTP ${smtpServerName(url)} (${name}): ?tls=off: no STARTTLS${user ? ', the credentials go in clear text' : ''}; for a lab server only.`, { event: 'insecure', channel: name });
  }
  const transport: Transporter = createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(user ? { auth: { user, pass: decoded(url.password, 'password') }, forceAuth: true, requireTLS: !secure && !tlsOff } : {}),
    ...(tlsOff ? { ignoreTLS: true } : {}),
    tls: { rejectUnauthorized: url.searchParams.get('tls.rejectUnauthorized') !== 'false' },
    pool: true,
    maxConnections: SMTP_POOL_SIZE,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 3,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    name,
    concurrency: SMTP_POOL_SIZE,
    async send(item: QueuedAlert, { signal }): Promise<SendResult> {
      try {
        const info = await transport.sendMail({ ...emailMessage(item, from), signal });
        const accepted = (info.accepted as unknown[]).length;
        if (accepted === 0) return classifySmtpError({ responseCode: 550, response: `recipient ${item.alert.to} rejected` });
        return sent(info.messageId);
      } catch (err) {
        return signal.aborted ? transient('SMTP send cancelled') : classifySmtpError(err);
      }
    },
    async close() {
      transport.close();
    },
  };
}

export const smtpChannel: ChannelKind = {
  kind: 'smtp',
  options: () => [
    envOption('--smtp <url>', 'send e-mail through this SMTP server: smtp://user:pass@host:587 (STARTTLS required with credentials; ?tls=off for a lab server) or smtps://…:465 (repeatable, or a comma-separated list)', 'SMTP_URL').argParser(smtpUrlList),
    envOption('--from <address>', 'sender of alert e-mails', 'ALERT_FROM', fromArg).default(DEFAULT_FROM),
    envOption('--smtp-timeout <duration>', 'SMTP connect and greeting timeout', 'SMTP_TIMEOUT', durationArg(100, 300_000)).default(10_000, '10s'),
  ],
  secrets: (opts) => smtpUrls(opts).flatMap((url) => (url.password ? [decoded(url.password, 'password'), url.password] : [])),
  create: (opts, { log }) =>
    smtpUrls(opts).map((url, i) => createSmtpChannel(url, opts.from as string, opts.smtpTimeout as number, i === 0 ? 'smtp' : `smtp-${i + 1}`, log)),
};
