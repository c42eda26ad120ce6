/**
 * What a check is and what it finds, whatever it checks: the Probe interface
 * (http-probe.ts, tcp-probe.ts implement it), the CheckResult, and the short
 * human reasons for failures ("connection refused", "HTTP 503").
 */

export interface CheckResult {
  ok: boolean;
  /** Why it failed: "connection refused", "timeout after 2000ms", "HTTP 503". */
  reason?: string;
  /** The HTTP status, when the server answered; absent for TCP checks and connection failures. */
  status?: number;
  /** How long the check took, ms. */
  latencyMs: number;
  /** When the check started (ms since the epoch). */
  at: number;
  /** A quick confirming check after a failure (fresh connection, short connect timeout). */
  confirm?: boolean;
  /** How late the check started against its schedule, ms (0 when on time or woken early). */
  lateMs?: number;
}

export type CheckMode = 'normal' | 'confirm';

export interface Probe {
  /**
   * One check. 'confirm' opens a fresh connection with a short connect timeout
   * (`confirmConnectTimeoutMs`), to confirm a failure quickly.
   */
  check(mode?: CheckMode, confirmConnectTimeoutMs?: number): Promise<CheckResult>;
}

/** The `code` of the error a connect timeout fails an HTTP check with (http-connections.ts). */
export const CONNECT_TIMEOUT_CODE = 'CH2_CONNECT_TIMEOUT';

/** The longest reason printed; the rest is cut ("…"). */
export const REASON_MAX_CHARS = 300;

/**
 * A reason as every line shows it: one line (OpenSSL's messages, a server's
 * text and the like carry line breaks, which would split "System down: …" and
 * "Alert: …"), no control characters, at most REASON_MAX_CHARS.
 */
export function oneLineReason(text: string): string {
  const flat = text
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .trim();
  return flat.length > REASON_MAX_CHARS ? `${flat.slice(0, REASON_MAX_CHARS - 1)}…` : flat;
}

/** A short, human, one-line reason for a failed check. */
export function describeFailure(err: unknown, options: { timeoutMs: number; connectTimeoutMs: number }): string {
  return oneLineReason(failureText(err, options));
}

function failureText(err: unknown, options: { timeoutMs: number; connectTimeoutMs: number }): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      // node:http says "socket hang up" when the server closed (FIN) before its answer,
      // and "aborted" when it closed in the middle of it; a reset says "read ECONNRESET".
      return e.message === 'socket hang up' || e.message === 'aborted' ? 'connection closed by the server' : 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
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
  const undiciParse = /^Response does not match the HTTP\/1\.1 protocol \((.*)\)$/.exec(e.message ?? '');
  if ((typeof code === 'string' && code.startsWith('HPE_')) || e.name === 'HTTPParserError' || undiciParse) {
    const what = undiciParse?.[1] ?? ((e as { reason?: string }).reason ?? e.message ?? String(code)).replace(/^Parse Error:\s*/, '');
    return `bad HTTP answer: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timeout after ${options.timeoutMs}ms`;
  if (typeof code === 'string' && code.startsWith('ERR_TLS') || /certificate/i.test(e.message ?? '')) {
    return `TLS error: ${e.message ?? code}`;
  }
  return e.message ? e.message : String(err);
}
