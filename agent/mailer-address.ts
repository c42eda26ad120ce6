/**
 * The agent's --mailer (MAILER_URL): one mailer or a comma-separated list of
 * them (alerts and reports fail over along it: alerting/mailer-failover.ts),
 * each "host:port", "tcp://host:port", "http://host:port" or
 * "https://host:port"; without a port, the mailer's 33333 (http:// and
 * https:// too: the mailer listens there, not on 80 or 443). http:// and
 * https:// speak only the JSON protocol.
 */
import { InvalidArgumentError } from 'commander';
import type { LinkEndpoint } from '../shared/legacy-links.ts';
import { hostPort } from '../shared/legacy-links.ts';
import { MAILER_PORT } from './defaults.ts';

/** Where the mailer listens, whether it was given as http:// or https:// (which speak only JSON), and whether over TLS. */
export interface MailerAddress extends LinkEndpoint {
  http?: boolean;
  tls?: boolean;
}

/** Most mailers in one --mailer list. */
export const MAX_MAILERS = 16;

/** "host:port", "tcp://host:port", "http://host:port" or "https://host:port" → endpoint; without a port, the mailer's 33333. */
export function parseMailerAddress(text: string): MailerAddress {
  const value = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError('Expected host:port, tcp://host:port, http://host:port or https://host:port.');
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol)) throw new InvalidArgumentError('Expected tcp://, http:// or https://.');
  if (!url.hostname) throw new InvalidArgumentError('The mailer address has no host.');
  if (url.username || url.password) throw new InvalidArgumentError('Credentials in the mailer address are not supported: give the token with --mailer-token (MAILER_TOKEN).');
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new InvalidArgumentError('Give the mailer as host:port; the agent adds /alerts itself.');
  }
  // new URL() drops a scheme's default port: "http://host:80" has port ''.
  const explicit = /^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]*\]|[^/:]*):(\d+)/i.exec(value)?.[2];
  const port = url.port !== '' ? Number(url.port) : explicit !== undefined ? Number(explicit) : MAILER_PORT;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol === 'https:') return { host, port, http: true, tls: true };
  return { host, port, ...(url.protocol === 'http:' ? { http: true } : {}) };
}

/** A comma-separated list of mailers (one is a list of one), each named once. */
export function parseMailerList(text: string): MailerAddress[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s.length === 0)) throw new InvalidArgumentError('An empty mailer in the list: give host:port entries separated by single commas.');
  if (items.length > MAX_MAILERS) throw new InvalidArgumentError(`At most ${MAX_MAILERS} mailers.`);
  const mailers: MailerAddress[] = [];
  for (const item of items) {
    let mailer: MailerAddress;
    try {
      mailer = parseMailerAddress(item);
    } catch (err) {
      throw new InvalidArgumentError(items.length === 1 ? (err as Error).message : `"${item.slice(0, 200)}": ${(err as Error).message}`);
    }
    if (mailers.some((m) => hostPort(m).toLowerCase() === hostPort(mailer).toLowerCase())) throw new InvalidArgumentError(`The mailer ${hostPort(mailer)} is listed twice.`);
    mailers.push(mailer);
  }
  return mailers;
}

/** The mailers as lines name them: "a:33333" or "a:33333, b:33333". */
export function mailerNames(mailers: readonly LinkEndpoint[]): string {
  return mailers.map(hostPort).join(', ');
}
