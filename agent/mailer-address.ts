/**
 * The agent's --mailer (MAILER_URL): "host:port", "tcp://host:port" or
 * "http://host:port"; without a port, the mailer's 33333 (http:// too: the
 * mailer listens there, not on 80). http:// speaks only the JSON protocol.
 */
import { InvalidArgumentError } from 'commander';
import type { LinkEndpoint } from '../shared/legacy-links.ts';
import { MAILER_PORT } from './defaults.ts';

/** Where the mailer listens, and whether it was given as http:// (which speaks only JSON). */
export interface MailerAddress extends LinkEndpoint {
  http?: boolean;
}

/** "host:port", "tcp://host:port" or "http://host:port" → endpoint; without a port, the mailer's 33333. */
export function parseMailerAddress(text: string): MailerAddress {
  const value = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError('Expected host:port, tcp://host:port or http://host:port.');
  }
  if (!['tcp:', 'http:'].includes(url.protocol)) throw new InvalidArgumentError('Expected tcp:// or http://.');
  if (!url.hostname) throw new InvalidArgumentError('The mailer address has no host.');
  if (url.username || url.password) throw new InvalidArgumentError('Credentials in the mailer address are not supported: give the token with --mailer-token (MAILER_TOKEN).');
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new InvalidArgumentError('Give the mailer as host:port; the agent adds /alerts itself.');
  }
  // new URL() drops a scheme's default port: "http://host:80" has port ''.
  const explicit = /^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]*\]|[^/:]*):(\d+)/i.exec(value)?.[2];
  const port = url.port !== '' ? Number(url.port) : explicit !== undefined ? Number(explicit) : MAILER_PORT;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, ...(url.protocol === 'http:' ? { http: true } : {}) };
}
