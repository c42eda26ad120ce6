/**
 * One HTTP check with undici over a kept-alive connection. The connection's
 * closing by the server is reported through `onServerClose`, so the monitor
 * can re-check at once instead of waiting for its next tick.
 */
import { Agent, request } from 'undici';
import type { StatusMatcher } from './expect-status.ts';

export interface CheckResult {
  ok: boolean;
  /** Why it failed: "connection refused", "timeout after 2s", "HTTP 503". */
  reason?: string;
  status?: number;
  latencyMs: number;
  at: number;
}

export interface ProbeOptions {
  url: URL;
  timeoutMs: number;
  connectTimeoutMs: number;
  intervalMs: number;
  expectStatus: StatusMatcher;
  onServerClose?: () => void;
}

export interface Probe {
  check(): Promise<CheckResult>;
  close(): Promise<void>;
}

const USER_AGENT = 'ch2-agent/0.1';

export function createHttpProbe(options: ProbeOptions): Probe {
  const dispatcher = new Agent({
    connect: { timeout: options.connectTimeoutMs },
    keepAliveTimeout: Math.max(4000, options.intervalMs * 3),
    keepAliveMaxTimeout: Math.max(600_000, options.intervalMs * 3),
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connections: 1,
    pipelining: 1,
  });
  dispatcher.on('disconnect', (_origin, _targets, error) => {
    // The server (or the network) closed the connection; our own idle timeout
    // and shutdown say so with other error codes.
    if ((error as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET') options.onServerClose?.();
  });
  return {
    async check(): Promise<CheckResult> {
      const started = performance.now();
      const at = Date.now();
      try {
        const res = await request(options.url, {
          dispatcher,
          method: 'GET',
          headers: { 'user-agent': USER_AGENT, accept: '*/*' },
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        await res.body.dump({ limit: 256 * 1024 });
        const latencyMs = performance.now() - started;
        if (options.expectStatus(res.statusCode)) return { ok: true, status: res.statusCode, latencyMs, at };
        return { ok: false, status: res.statusCode, reason: `HTTP ${res.statusCode}`, latencyMs, at };
      } catch (err) {
        return { ok: false, reason: describeFailure(err, options), latencyMs: performance.now() - started, at };
      }
    },
    close: () => dispatcher.destroy(),
  };
}

/** A short, human reason for a failed check. */
export function describeFailure(err: unknown, options: Pick<ProbeOptions, 'timeoutMs' | 'connectTimeoutMs'>): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  const code = e.code ?? (e.cause as { code?: string } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect timeout after ${options.connectTimeoutMs}ms`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timeout after ${options.timeoutMs}ms`;
    case 'UND_ERR_SOCKET':
      return 'connection closed by the server';
    case 'UND_ERR_INFO':
    default:
      break;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timeout after ${options.timeoutMs}ms`;
  if (typeof code === 'string' && code.startsWith('ERR_TLS') || /certificate/i.test(e.message ?? '')) {
    return `TLS error: ${e.message ?? code}`;
  }
  return e.message ? e.message : String(err);
}
