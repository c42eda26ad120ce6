/**
 * The token rule of the mailer's own paths (/alerts, the agents' reports and
 * list): with --token, a bearer token compared in constant time; without
 * one, reads that show alerts or agents answer loopback peers only
 * (shared/peer-address.ts isLoopback, the hub's writes' rule too).
 */
import { timingSafeEqual } from 'node:crypto';

export function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

export const UNAUTHORIZED = { error: 'missing or wrong bearer token' };
export const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="ch2-mailer"' };
