/**
 * A dns:// target: `dns://name?type=A|AAAA|CNAME|MX|TXT&server=host:53&expect=…`.
 * `type` defaults to A; `server` to the system's resolvers (host:port, port
 * 53 by default; an IPv6 address in brackets); `expect` is a comma-separated
 * list of answers of which one must be in the answer (an address, a name, an
 * MX exchange, a TXT string), case-insensitive for names. Checked at start:
 * a bad one is an error text (targetUrlProblem in target.ts).
 */
import { isIP } from 'node:net';

export const DNS_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] as const;
export type DnsType = (typeof DNS_TYPES)[number];

export interface DnsQuery {
  name: string;
  type: DnsType;
  /** "host:port" for Resolver.setServers, or undefined: the system's resolvers. */
  server?: string;
  expect?: readonly string[];
}

const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
const KEYS = new Set(['type', 'server', 'expect']);

/** The query a dns:// URL asks for, or an error text. */
export function parseDnsTarget(url: URL): DnsQuery | string {
  const name = url.hostname.replace(/\.$/, '');
  if (!name || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) return 'a dns:// target names a host: dns://example.com?type=A';
  if (url.port || url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.hash) {
    return 'a dns:// target is dns://name?type=…&server=host:port&expect=…, nothing else (the server goes in server=)';
  }
  for (const key of url.searchParams.keys()) if (!KEYS.has(key)) return `unknown dns:// parameter ${JSON.stringify(key.slice(0, 40))} (type, server, expect)`;
  for (const key of KEYS) if (url.searchParams.getAll(key).length > 1) return `dns:// parameter ${key} is given twice`;
  const type = (url.searchParams.get('type') ?? 'A').toUpperCase();
  if (!(DNS_TYPES as readonly string[]).includes(type)) return `type=${type.slice(0, 20)} is not one of ${DNS_TYPES.join(', ')}`;
  const query: DnsQuery = { name, type: type as DnsType };
  const server = url.searchParams.get('server');
  if (server !== null) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(server);
    const host = m?.[1] ?? m?.[2];
    const port = m?.[3] === undefined ? 53 : Number(m[3]);
    if (!host || isIP(host) === 0 || port < 1 || port > 65535) return `server=${server.slice(0, 60)} is not an IP address with an optional port (10.0.0.2:53, [::1]:5353)`;
    query.server = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  }
  const expect = url.searchParams.get('expect');
  if (expect !== null) {
    const list = expect.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (list.length === 0) return 'expect= is empty';
    query.expect = list;
  }
  return query;
}
