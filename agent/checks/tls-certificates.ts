/**
 * The dates of a server's certificate chain: read from each new TLS
 * connection of a check (`certDatesOf`, once per connection), for
 * --cert-expiry and ch2_cert_expiry_seconds; and for the reason of a check
 * whose TLS handshake failed on them ("TLS error: certificate expired 3 days
 * ago"). The refused
 * handshake's socket is gone by the time its error is seen, so this opens one
 * more TLS connection to the target that verifies nothing, reads the
 * certificates' dates and closes at once: no byte of HTTP (no header, no
 * secret) goes to the unverified server. Only after such a failure.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { CERT_DATE_CODES, describeFailure, type NetTimeouts } from '../../shared/net-errors.ts';
import { sharedLookup } from '../lookup.ts';
import { endpointOf } from '../target.ts';

export interface ChainDates {
  /** The soonest end of validity in the chain, ms since the epoch. */
  validTo: number;
  /** The latest start of validity in the chain. */
  validFrom: number;
  /** The subject (CN) of the certificate that ends soonest, and whether it is the server's own. */
  soonest: string;
  leaf: boolean;
}

/** The dates of a connection's certificate chain (leaf, intermediates, root), or undefined without one. */
export function chainDates(socket: TLSSocket): ChainDates | undefined {
  let cert: PeerCertificate | undefined = socket.getPeerCertificate(true) as PeerCertificate | undefined;
  if (!cert || !cert.valid_to) return undefined;
  let dates: ChainDates | undefined;
  const seen = new Set<string>();
  let leaf = true;
  while (cert && cert.valid_to && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    const validTo = Date.parse(cert.valid_to);
    const validFrom = Date.parse(cert.valid_from);
    const cn = cert.subject?.CN;
    const name = (Array.isArray(cn) ? cn[0] : cn) ?? '';
    if (!dates) dates = { validTo, validFrom, soonest: name, leaf: true };
    else {
      if (validTo < dates.validTo) Object.assign(dates, { validTo, soonest: name, leaf });
      dates.validFrom = Math.max(dates.validFrom, validFrom);
    }
    leaf = false;
    cert = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return dates;
}

const bySocket = new WeakMap<object, ChainDates | null>();

/** The chain's dates of a connection, read once per connection (kept-alive ones are asked at every check). */
export function certDatesOf(socket: unknown): ChainDates | undefined {
  if (typeof (socket as Partial<TLSSocket> | null)?.getPeerCertificate !== 'function') return undefined;
  let dates = bySocket.get(socket as object);
  if (dates === undefined) {
    dates = chainDates(socket as TLSSocket) ?? null;
    bySocket.set(socket as object, dates);
  }
  return dates ?? undefined;
}

/** Opens an unverified TLS connection to `url` and reads its chain's dates; undefined on any failure or after `timeoutMs`. */
export function peekChainDates(url: URL, timeoutMs: number): Promise<ChainDates | undefined> {
  const { host, port } = endpointOf(url);
  return new Promise((resolve) => {
    const tls = process.getBuiltinModule('node:tls');
    const socket = tls.connect({ host, port, rejectUnauthorized: false, lookup: sharedLookup, ...(isIP(host) ? {} : { servername: host }) });
    const done = (dates: ChainDates | undefined): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(dates);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => done(chainDates(socket)));
    socket.once('error', () => done(undefined));
  });
}

/**
 * The reason of a failed check of `url`, to `deliver`: at once, or, for a
 * certificate refused for its dates, after reading them (at most the connect
 * timeout; the check's own timeout still bounds the whole).
 */
export function explainFailure(err: unknown, url: URL, timeouts: NetTimeouts, deliver: (reason: string) => void): void {
  const code = (err as { code?: unknown } | null)?.code;
  if (url.protocol !== 'https:' || typeof code !== 'string' || !CERT_DATE_CODES.includes(code)) {
    deliver(describeFailure(err, timeouts));
    return;
  }
  void peekChainDates(url, timeouts.connectTimeoutMs).then((dates) => {
    deliver(describeFailure(err, dates ? { ...timeouts, certValidTo: dates.validTo, certValidFrom: dates.validFrom } : timeouts));
  });
}
