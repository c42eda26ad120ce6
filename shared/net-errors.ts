/**
 * The short, one-line, human reason for a failed network exchange ("connection
 * refused", "timeout after 2000ms"), from the error node:net, node:http,
 * undici or nodemailer gave. One wording for the agent's checks, its alerts to
 * the mailer, and the mailer's webhooks.
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
  if ((code !== undefined && code.startsWith('ERR_TLS')) || /certificate/i.test(message)) return `TLS error: ${message || code}`;
  return message || code || String(err);
}
