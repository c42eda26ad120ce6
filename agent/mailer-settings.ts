/**
 * The agent's mailer settings (cli.ts), checked together at start: the
 * mailers (--mailer, a list; else the insidemailer link, else
 * insidemailer:33333), the protocol, the token and --mailer-ca. http:// and
 * https:// speak JSON only, the raw protocol carries no token, and
 * --mailer-ca needs an https:// mailer. A token that would cross the
 * network in clear (a plain mailer beyond this host) is named for a warning
 * at start (main.ts).
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../shared/config.ts';
import type { LinkEndpoint } from '../shared/legacy-links.ts';
import type { MailerProtocol } from './alerting/mailer-client.ts';
import { MAILER_ALIAS, MAILER_PORT } from './defaults.ts';
import type { MailerAddress } from './mailer-address.ts';

export interface MailerSettings {
  /** Every mailer, in the order alerts try them (one, usually). */
  mailers: MailerAddress[];
  mailerProtocol: MailerProtocol;
  /** Bearer token for the mailer's JSON intake; never logged. */
  mailerToken?: string;
  /** --mailer-ca: a CA the https:// mailers' certificates may chain to, beside the public ones. */
  mailerCa?: { caFile: string; caPem: string };
}

/** The mailer's bearer token: at least 16 printable ASCII characters, no spaces (as the mailer's --token). Never echoed. */
export function tokenArg(text: string): string {
  const value = text.trim();
  if (value.length < 16) throw new Error('expected a token of at least 16 characters');
  if (!/^[\x21-\x7e]+$/.test(value)) throw new Error('expected a token of printable ASCII without spaces');
  return value;
}

/** The mailer options (commander's values), checked together; a conflict is a ConfigError. */
export function mailerSettings(opts: Record<string, unknown>, mailerLink: LinkEndpoint | undefined): MailerSettings {
  const mailers: MailerAddress[] = (opts.mailer as MailerAddress[] | undefined) ?? [mailerLink ?? { host: MAILER_ALIAS, port: MAILER_PORT }];
  const mailerProtocol = opts.mailerProtocol as MailerProtocol;
  if (mailerProtocol !== 'json' && mailers.some((m) => m.http)) {
    const scheme = mailers.some((m) => m.tls) ? 'https' : 'http';
    throw new ConfigError(`--mailer ${scheme}://… (MAILER_URL) speaks JSON: drop --mailer-protocol raw, or give the mailer as host:port.`);
  }
  const mailerToken = opts.mailerToken as string | undefined;
  if (mailerToken !== undefined && mailerProtocol !== 'json') {
    throw new ConfigError('--mailer-token (MAILER_TOKEN) needs --mailer-protocol json: the raw protocol has no place for a token.');
  }
  const mailerCa = opts.mailerCa as MailerSettings['mailerCa'];
  if (mailerCa !== undefined && !mailers.some((m) => m.tls)) {
    throw new ConfigError('--mailer-ca (MAILER_CA) is for a mailer over TLS: give it as --mailer https://host:port (MAILER_URL).');
  }
  return { mailers, mailerProtocol, ...(mailerToken !== undefined ? { mailerToken } : {}), ...(mailerCa !== undefined ? { mailerCa } : {}) };
}

// Addresses that stay on this host or its private networks (a Docker bridge, a LAN).
const NEARBY = new BlockList();
for (const [net, bits] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16]] as const) NEARBY.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) NEARBY.addSubnet(net, bits, 'ipv6');

/**
 * Whether a plain connection to `host` crosses networks one does not own: a
 * dotted name (public DNS: another host, another network) or a public
 * address. Loopback and private addresses, localhost, and names of one label
 * (a container's, a --link or compose alias) do not.
 */
export function beyondThisHost(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const family = isIP(name);
  if (family !== 0) return !NEARBY.check(name, family === 6 ? 'ipv6' : 'ipv4');
  return name.includes('.') && name !== 'localhost' && !name.endsWith('.localhost');
}

/** The mailers our token would reach in clear beyond this host (none without a token). */
export function clearTokenMailers(settings: MailerSettings): MailerAddress[] {
  if (settings.mailerToken === undefined) return [];
  return settings.mailers.filter((m) => !m.tls && beyondThisHost(m.host));
}
