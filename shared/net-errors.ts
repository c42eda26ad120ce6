/**
 * The short, one-line, human reason for a failed network exchange ("connection
 * refused", "timeout after 2000ms"), from the error node:net, node:http,
 * undici or nodemailer gave. One wording for the agent's checks, its alerts to
 * the mailer, and the mailer's webhooks.
 */

/** The `code` of the error a connect timeout fails an HTTP check with (the agent's http-connections.ts). */
export const CONNECT_TIMEOUT_CODE = 'CH2_CONNECT_TIMEOUT';

export interface NetTimeouts {
  /** The whole exchange's limit, ms. */
  timeoutMs: number;
  /** The connect limit, ms. */
  connectTimeoutMs: number;
}

function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** A short, human, single-line reason for a network failure. */
export function describeFailure(err: unknown, options: NetTimeouts): string {
  const e = (err ?? {}) as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
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
    default:
      break;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timeout after ${options.timeoutMs}ms`;
  if ((typeof code === 'string' && code.startsWith('ERR_TLS')) || /certificate/i.test(message)) {
    return oneLine(`TLS error: ${message || code}`);
  }
  return oneLine(message || code || String(err)) || 'network error';
}
