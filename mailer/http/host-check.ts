/**
 * The Host check against DNS rebinding. A page on another site whose name
 * an attacker points at this mailer's address runs in the attacker's
 * origin, so its requests carry the attacker's name in Host; the mailer
 * takes, from a browser's point of view, only the names it answers to:
 * loopback names (localhost, *.localhost), an IP address (the bound one,
 * or any other: a name, never an address literal, is what a rebinding
 * needs), a name of one label (a container's name, a --link or compose
 * alias: no public DNS name has one label, so no attacker can point one),
 * this host's own name, and --public-url's host. Any other dotted name is
 * refused. The port is not compared (a published or proxied port differs
 * from the bound one). Which requests are checked is http-server.ts's choice:
 * those a browser sends (the status page, its API, events and writes, and
 * the GETs that show alerts or agents), not the agents' POSTs, which come
 * with a linked name (Host: insidemailer:33333) and a token or none.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export class HostCheck {
  readonly #names: Set<string>;

  /** `publicUrl`: --public-url, if given. */
  constructor(publicUrl: URL | undefined, ownName: string = hostname()) {
    this.#names = new Set([ownName.toLowerCase()]);
    if (publicUrl !== undefined) this.#names.add(publicUrl.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  }

  /** Whether a request with this Host header may be answered as one for this mailer. */
  allows(host: string | undefined): boolean {
    if (host === undefined) return true; // HTTP/1.0 without Host: no browser sends that
    const name = hostName(host);
    if (name === undefined) return false;
    return isIP(name) !== 0 || !name.includes('.') || name.endsWith('.localhost') || this.#names.has(name);
  }
}

/** The name of a Host header (port and IPv6 brackets off, lower case, a trailing dot dropped); undefined when it is not one. */
function hostName(host: string): string | undefined {
  const text = host.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (v6) return v6[1]!;
  const m = /^([a-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(text);
  return m ? m[1]! : undefined;
}

export function misdirected(host: string | undefined): { error: string } {
  const shown = (host ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
  return {
    error:
      `Host ${JSON.stringify(shown)} is not a name this mailer answers to (DNS rebinding guard): use localhost, an IP address or a one-label name (the container's), ` +
      'or start the mailer with --public-url (PUBLIC_URL) giving the URL browsers use',
  };
}
