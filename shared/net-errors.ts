/**
 * The short, one-line, human reason for a failed network exchange ("connection
 * refused", "timeout after 2000ms"), from the error node:net, node:http,
 * undici or nodemailer gave. One wording for the agent's checks, its alerts to
 * the mailer, and the mailer's webhooks. TLS failures get one readable line
 * too ("TLS error: self-signed certificate"), never OpenSSL's raw text.
 */

/** The `code` of the error a connect timeout fails an HTTP check with (the agent's http-connections.ts). */
export const CONNECT_TIMEOUT_CODE = 'CH2_CONNECT_TIMEOUT';

/** The longest reason printed; the rest is cut ("…"). */
export const REASON_MAX_CHARS = 300;

export interface NetTimeouts {
  /** The whole exchange's limit, ms. */
  timeoutMs: number;
  /** The connect limit, ms. */
  connectTimeoutMs: number;
  /** When the server's certificate stops (or starts) being valid, ms since the epoch, if the caller looked (an expired one's "3 days ago"). */
  certValidTo?: number;
  certValidFrom?: number;
  /** Now, ms since the epoch (tests). */
  now?: number;
  /** The flag an unknown CA's reason names (default: the checks' --ca-file, or insecure: true); the agent's alerts name --mailer-ca. */
  trustFlag?: string;
}

import { flatten } from './text.ts';

/**
 * A reason as every line shows it: one line (OpenSSL's messages, a server's
 * text and the like carry line breaks, which would split "System down: …" and
 * "Alert: …"), no control characters, at most REASON_MAX_CHARS.
 */
export function oneLineReason(text: string): string {
  return flatten(text, REASON_MAX_CHARS);
}

/** A short, human, single-line reason for a network failure. */
export function describeFailure(err: unknown, options: NetTimeouts): string {
  return oneLineReason(failureText(err, options)) || 'network error';
}

function failureText(err: unknown, options: NetTimeouts): string {
  const e = (err ?? {}) as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; reason?: unknown };
  const causeCode = (e.cause as { code?: unknown } | undefined)?.code;
  const code = typeof e.code === 'string' ? e.code : typeof causeCode === 'string' ? causeCode : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      // node:http says "socket hang up" when the server closed (FIN) before its answer,
      // and "aborted" when it closed in the middle of it; a reset says "read ECONNRESET".
      return message === 'socket hang up' || message === 'aborted' ? 'connection closed by the server' : 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EMFILE':
      return 'out of file descriptors (EMFILE)';
    case 'ENFILE':
      return 'the system is out of file descriptors (ENFILE)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case CONNECT_TIMEOUT_CODE:
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect timeout after ${options.connectTimeoutMs}ms`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timeout after ${options.timeoutMs}ms`;
    case 'UND_ERR_SOCKET':
      return 'connection closed by the server';
    case 'HPE_HEADER_OVERFLOW':
    case 'UND_ERR_HEADERS_OVERFLOW':
      return `bad HTTP answer: headers larger than ${Math.round(process.getBuiltinModule('node:http').maxHeaderSize / 1024)} KiB`;
    default:
      break;
  }
  // llhttp's parse errors: node:http's "Parse Error: Invalid character in chunk size", undici's
  // "Response does not match the HTTP/1.1 protocol (Invalid character in chunk size)".
  const undiciParse = /^Response does not match the HTTP\/1\.1 protocol \((.*)\)$/.exec(message);
  if ((code !== undefined && code.startsWith('HPE_')) || e.name === 'HTTPParserError' || undiciParse) {
    const what = undiciParse?.[1] ?? (typeof e.reason === 'string' ? e.reason : message || String(code)).replace(/^Parse Error:\s*/, '');
    return `bad HTTP answer: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timeout after ${options.timeoutMs}ms`;
  const tls = tlsText(code, message, e.reason, options);
  if (tls !== undefined) return `TLS error: ${tls}`;
  return message || code || String(err);
}

const DAY_MS = 86_400_000;

/** "in 3 days", "in 1 day", "within a day": how far `at` is from `now` (either way), in whole days. */
export function daysFrom(at: number, now: number): string {
  const days = Math.floor(Math.abs(at - now) / DAY_MS);
  return days === 0 ? 'less than a day' : days === 1 ? '1 day' : `${days} days`;
}

/** The error codes of a certificate the client refused for its dates: the reason reads better with them (NetTimeouts.certValidTo). */
export const CERT_DATE_CODES: readonly string[] = ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'];

// The certificate checks that failed, by node's (OpenSSL's) verify codes.
const CERT_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (trust it with --ca-file, or set insecure: true)',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain: an unknown CA (trust it with --ca-file)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by an unknown CA (trust it with --ca-file)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by an unknown CA (trust it with --ca-file)',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by an unknown CA (trust it with --ca-file)',
  CERT_REVOKED: 'certificate revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature is invalid',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  INVALID_CA: 'invalid CA certificate in the chain',
};

// OpenSSL's reasons ("…:SSL routines:tls_validate_record_header:wrong version number:../deps/…").
const OPENSSL_REASONS: Record<string, string> = {
  'wrong version number': 'the server speaks plain HTTP on this port',
  'packet length too long': 'the server speaks plain HTTP on this port',
  'http request': 'the server speaks plain HTTP on this port',
  'unsupported protocol': 'no TLS version in common with the server',
  'tlsv1 alert protocol version': 'no TLS version in common with the server',
  'sslv3 alert handshake failure': 'the server refused the handshake (no cipher or version in common)',
  'tlsv1 unrecognized name': 'the server does not know this host name (SNI)',
  'tlsv1 alert internal error': 'the server failed the handshake (alert: internal error)',
  'unexpected eof while reading': 'the server closed the connection during the handshake',
};

/** The readable part of a TLS failure, or undefined when `code`/`message` are not one. */
function tlsText(code: string | undefined, message: string, reason: unknown, options: NetTimeouts): string | undefined {
  const now = options.now ?? Date.now();
  if (code === 'CERT_HAS_EXPIRED') return options.certValidTo === undefined ? 'certificate expired' : `certificate expired ${daysFrom(options.certValidTo, now)} ago`;
  if (code === 'CERT_NOT_YET_VALID') return options.certValidFrom === undefined ? 'certificate not valid yet' : `certificate not valid for ${daysFrom(options.certValidFrom, now)} yet`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // node's reason: "Host: a. is not in the cert's altnames: DNS:b, DNS:c".
    const why = typeof reason === 'string' ? reason.replace(/^Host: (.*?)\.? is not in the cert's altnames: /, '$1 is not in ') : '';
    return `certificate is for another host name${why ? ` (${why})` : ''}`;
  }
  if (code !== undefined && CERT_CODES[code] !== undefined) {
    const text = CERT_CODES[code];
    return options.trustFlag === undefined ? text : text.replace(/ \(trust it with --ca-file[^)]*\)$/, ` (trust it with ${options.trustFlag})`);
  }
  const openssl = /SSL routines:[^:]*:([^:]+):/.exec(message)?.[1];
  if (openssl !== undefined) return OPENSSL_REASONS[openssl] ?? openssl;
  if ((code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_'))) || /certificate/i.test(message)) {
    // Node's hint on unknown CAs is about its own flags, not ours.
    return (message.replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, '') || code) ?? 'handshake failed';
  }
  return undefined;
}
