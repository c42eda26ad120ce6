/**
 * Whom an https target's checks trust: Node's bundled root CAs, plus the PEM
 * of `--ca-file` / `caFile` when given (a private CA is added to the public
 * ones, so one --ca-file serves a mix of internal and public targets), or no
 * one at all with `insecure: true` (the certificate is not verified; the
 * agent warns at start). One TLS context per CA file, made at the first
 * check of a target that uses it, shared by both HTTP backends and by every
 * connection (a context per connection would parse some 150 roots each time).
 */
import type { SecureContext } from 'node:tls';
import type { TargetSpec } from '../target.ts';

export interface TlsTrust {
  /** A key that tells two trusts apart (agents and pools are per trust). */
  key: string;
  /**
   * The options every TLS connection of the target takes. No TLS session is
   * resumed: a resumed session shows no certificate, and each new connection
   * must show its own (--cert-expiry, ch2_cert_expiry_seconds).
   */
  options: { secureContext?: SecureContext; rejectUnauthorized: boolean; maxCachedSessions: 0 };
}

type TrustSpec = Pick<TargetSpec, 'caFile' | 'caPem' | 'insecure'>;

const contexts = new Map<string, SecureContext>();
const DEFAULT_TRUST: TlsTrust = { key: 'default', options: { rejectUnauthorized: true, maxCachedSessions: 0 } };

/** The trust of a target (or of the agent's defaults). */
export function tlsTrustOf(spec: TrustSpec): TlsTrust {
  const insecure = spec.insecure === true;
  if (spec.caPem === undefined) return insecure ? { key: 'insecure', options: { rejectUnauthorized: false, maxCachedSessions: 0 } } : DEFAULT_TRUST;
  let secureContext = contexts.get(spec.caPem);
  if (!secureContext) {
    const tls = process.getBuiltinModule('node:tls');
    secureContext = tls.createSecureContext({ ca: [...tls.rootCertificates, spec.caPem] });
    contexts.set(spec.caPem, secureContext);
  }
  return { key: `${insecure ? 'insecure' : 'verify'} ca=${spec.caFile ?? ''}`, options: { secureContext, rejectUnauthorized: !insecure, maxCachedSessions: 0 } };
}

/** Two targets on one origin share its connections, so they must trust alike. */
export function sameTrust(a: TrustSpec, b: TrustSpec): boolean {
  return (a.insecure === true) === (b.insecure === true) && a.caPem === b.caPem;
}
