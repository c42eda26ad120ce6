/**
 * Real e-mail over SMTP with nodemailer: `--smtp smtp://user:pass@host:587`
 * (STARTTLS when offered) or `smtps://…:465` (TLS), a pooled transport with
 * timeouts. SMTP 4xx, timeouts and network errors are transient; 5xx and
 * rejected authentication are permanent.
 *
 * `--smtp` may be given more than once (SMTP_URL: a comma- or space-separated
 * list): one channel per server, named smtp, smtp-2, …. The Message-ID comes
 * from the alert id (`<id@ch2>`), so a resent alert is the same message.
 */
import { createTransport, type Transporter } from 'nodemailer';
import { InvalidArgumentError } from 'commander';
import { parseRecipient } from '../../../shared/address.ts';
import { durationArg, envOption, listArg } from '../../../shared/config.ts';
import { permanent, type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { DEFAULT_FROM, emailMessage, headerSafe } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelKind } from './channel.ts';

export { DEFAULT_FROM };

export function smtpUrlArg(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidArgumentError('Expected smtp://[user:password@]host[:port] or smtps://….');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new InvalidArgumentError('Expected a URL starting smtp:// or smtps://.');
  }
  if (!url.hostname) throw new InvalidArgumentError('The SMTP URL has no host.');
  return url;
}

/** Commander parser: repeatable; each value (and SMTP_URL) may be a comma- or space-separated list. */
const smtpUrlList = listArg(smtpUrlArg, {
  separator: /[\s,]+/,
  key: (url) => url.href,
  twice: () => new InvalidArgumentError('The same SMTP URL is given twice.'),
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
}

/** Transient or permanent, from nodemailer's error. */
export function classifySmtpError(err: unknown): SendResult {
  const e = err as SmtpError;
  const detail = headerSafe(e.response ?? e.message ?? String(err), 300);
  if (typeof e.responseCode === 'number') {
    if (e.responseCode >= 500) return permanent(`SMTP ${e.responseCode}: ${detail}`);
    if (e.responseCode >= 400) return transient(`SMTP ${e.responseCode}: ${detail}`);
  }
  if (e.code === 'EAUTH') return permanent(`SMTP authentication failed: ${detail}`);
  return transient(`SMTP ${e.code ?? 'error'}: ${detail}`);
}

export function createSmtpChannel(url: URL, from: string, timeoutMs: number, name = 'smtp'): Channel {
  const secure = url.protocol === 'smtps:';
  const transport: Transporter = createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    tls: { rejectUnauthorized: url.searchParams.get('tls.rejectUnauthorized') !== 'false' },
    pool: true,
    maxConnections: 2,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 3,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    name,
    async send(item: QueuedAlert): Promise<SendResult> {
      try {
        const info = await transport.sendMail(emailMessage(item, from));
        const accepted = (info.accepted as unknown[]).length;
        if (accepted === 0) return classifySmtpError({ responseCode: 550, response: `recipient ${item.alert.to} rejected` });
        return sent(info.messageId);
      } catch (err) {
        return classifySmtpError(err);
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
    envOption('--smtp <url>', 'send e-mail through this SMTP server: smtp://user:pass@host:587 or smtps://…:465 (repeatable, or a comma-separated list)', 'SMTP_URL').argParser(smtpUrlList),
    envOption('--from <address>', 'sender of alert e-mails', 'ALERT_FROM', fromArg).default(DEFAULT_FROM),
    envOption('--smtp-timeout <duration>', 'SMTP connect and greeting timeout', 'SMTP_TIMEOUT', durationArg(100, 300_000)).default(10_000, '10s'),
  ],
  secrets: (opts) => smtpUrls(opts).flatMap((url) => (url.password ? [decodeURIComponent(url.password), url.password] : [])),
  create: (opts) =>
    smtpUrls(opts).map((url, i) => createSmtpChannel(url, opts.from as string, opts.smtpTimeout as number, i === 0 ? 'smtp' : `smtp-${i + 1}`)),
};
