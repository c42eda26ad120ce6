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
import { createTransport, type SendMailOptions, type Transporter } from 'nodemailer';
import { InvalidArgumentError } from 'commander';
import { parseRecipient } from '../../../shared/address.ts';
import { ConfigError, durationArg, durationInRange, envOption, fromArg, listArg } from '../../../shared/config.ts';
import type { Logger } from '../../../shared/logger.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import { DEFAULT_FROM, emailMessage, groupEmailMessage } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { type Channel, defineKind } from './channel.ts';
import { idempotencyKey } from './message-channel.ts';
import { notifyParams, yesNo } from './notify-url.ts';

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
  const detail = flatten(e.response ?? e.message ?? String(err), 300);
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

export interface SmtpSettings {
  url: URL;
  timeoutMs: number;
  /** The sender (else the mailer's --from). */
  from?: string;
  /** Recipients instead of each alert's own (shoutrrr's toAddresses). */
  to?: string[];
}

export function createSmtpChannel(url: URL, from: string, timeoutMs: number, name = 'smtp', log?: Logger, to?: readonly string[]): Channel {
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
      return mail(emailMessage(item, from), item.alert.to, signal);
    },
    sendGroup(items, { signal }) {
      return mail(groupEmailMessage(items, from, idempotencyKey(items)), items[0]!.alert.to, signal);
    },
    async close() {
      transport.close();
    },
  };

  async function mail(message: SendMailOptions, recipient: string, signal: AbortSignal): Promise<SendResult> {
      try {
        const info = await transport.sendMail({ ...message, ...(to ? { to: [...to] } : {}), signal });
        const accepted = (info.accepted as unknown[]).length;
        if (accepted === 0) return classifySmtpError({ responseCode: 550, response: `recipient ${to ? to.join(', ') : recipient} rejected` });
        return sent(info.messageId);
      } catch (err) {
        return signal.aborted ? transient('SMTP send cancelled') : classifySmtpError(err);
      }
  }
}

/** shoutrrr's query parameters of an smtp:// URL; those only about looks (fromName, subject, useHTML, clientHost) are taken and ignored. */
const SHOUTRRR_PARAMS = ['fromAddress', 'fromName', 'toAddresses', 'encryption', 'useStartTLS', 'auth', 'subject', 'useHTML', 'clientHost', 'tls', 'tls.rejectUnauthorized'];

/**
 * shoutrrr's form, as Watchtower writes it:
 * `smtp://user:pass@host:port/?fromAddress=a@x&toAddresses=b@y,c@z`, with
 * encryption=ImplicitTLS (smtps), None (no STARTTLS: ?tls=off), ExplicitTLS
 * or Auto (STARTTLS, the default), and useStartTLS=no (?tls=off).
 */
export function smtpFromNotify(url: URL): SmtpSettings {
  const params = notifyParams(url, SHOUTRRR_PARAMS);
  if (params.has('api')) throw new ConfigError('smtp:// URL: api does not apply to SMTP (the host is the server).');
  const encryption = (params.get('encryption') ?? 'auto').toLowerCase();
  if (!['auto', 'explicittls', 'implicittls', 'none'].includes(encryption)) throw new ConfigError('smtp:// URL: encryption takes Auto, ExplicitTLS, ImplicitTLS or None.');
  const tlsOff = encryption === 'none' || !yesNo(url, params, 'useStartTLS', true) || params.get('tls') === 'off';
  const ours = new URL(`${encryption === 'implicittls' ? 'smtps' : 'smtp'}://${url.host}`);
  ours.username = url.username;
  ours.password = url.password;
  if (tlsOff) ours.searchParams.set('tls', 'off');
  const reject = params.get('tls.rejectunauthorized');
  if (reject !== undefined) ours.searchParams.set('tls.rejectUnauthorized', reject);
  const settings: SmtpSettings = { url: smtpUrlArg(ours.href), timeoutMs: DEFAULT_SMTP_TIMEOUT_MS };
  const from = params.get('fromaddress');
  if (from !== undefined) settings.from = fromArgOr(from, 'smtp:// URL: fromAddress');
  const to = params.get('toaddresses');
  if (to !== undefined) settings.to = recipientsOf(to, 'smtp:// URL: toAddresses');
  return settings;
}

function fromArgOr(text: string, where: string): string {
  try {
    return fromArg(text);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`);
  }
}

function recipientsOf(text: string, where: string): string[] {
  const list = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (list.length === 0) throw new ConfigError(`${where}: expected at least one address.`);
  for (const address of list) if (!parseRecipient(address).ok) throw new ConfigError(`${where}: ${JSON.stringify(flatten(address, 80))} is not an e-mail address.`);
  return list;
}

const DEFAULT_SMTP_TIMEOUT_MS = 10_000;

export const smtpChannel = defineKind<SmtpSettings>({
  kind: 'smtp',
  groups: true,
  schemes: ['smtp', 'smtps'],
  urlExample: 'smtp://user:pass@host:587/?fromAddress=a@x&toAddresses=b@y',
  options: () => [
    envOption('--smtp <url>', 'send e-mail through this SMTP server: smtp://user:pass@host:587 (STARTTLS required with credentials; ?tls=off for a lab server) or smtps://…:465 (repeatable, or a comma-separated list)', 'SMTP_URL').argParser(smtpUrlList),
    envOption('--smtp-timeout <duration>', 'SMTP connect and greeting timeout', 'SMTP_TIMEOUT', durationArg(100, 300_000)).default(DEFAULT_SMTP_TIMEOUT_MS, '10s'),
  ],
  fromOptions: (opts) => smtpUrls(opts).map((url) => ({ url, timeoutMs: opts.smtpTimeout as number })),
  fromUrl: (url) => (url.protocol === 'smtps:' ? { url: smtpUrlArg(url.href), timeoutMs: DEFAULT_SMTP_TIMEOUT_MS } : smtpFromNotify(url)),
  configKeys: ['url', 'timeout', 'from', 'to'],
  fromConfig: (entry) => {
    if (typeof entry.url !== 'string') throw new ConfigError('url: expected an smtp:// or smtps:// URL as a string.');
    const settings: SmtpSettings = { url: smtpUrlArg(entry.url), timeoutMs: DEFAULT_SMTP_TIMEOUT_MS };
    if (entry.timeout !== undefined) settings.timeoutMs = durationInRange(String(entry.timeout), 100, 300_000);
    if (entry.from !== undefined) settings.from = fromArgOr(String(entry.from), 'from');
    if (entry.to !== undefined) settings.to = recipientsOf(Array.isArray(entry.to) ? entry.to.join(',') : String(entry.to), 'to');
    return settings;
  },
  secrets: (s) => (s.url.password ? [decoded(s.url.password, 'password'), s.url.password] : []),
  create: (s, ctx) => createSmtpChannel(s.url, s.from ?? ctx.from, s.timeoutMs, ctx.name, ctx.log, s.to),
});
