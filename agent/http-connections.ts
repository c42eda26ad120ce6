/**
 * The one undici dispatcher every HTTP target shares: one connection pool per
 * origin, kept alive between checks. A pool may open as many connections as
 * its origin has targets (each target has at most one check in flight, so a
 * hanging target never holds up another), up to MAX_CONNECTIONS_PER_ORIGIN.
 * Targets on one origin share its longest connect timeout.
 *
 * When a server closes a kept-alive connection (nginx does as it stops), the
 * origin is reported through `onServerClose`, so its targets can check again
 * at once instead of at their next tick.
 */
import { Agent, Pool } from 'undici';
import type { TargetSpec } from './target.ts';

export const MAX_CONNECTIONS_PER_ORIGIN = 1024;

interface OriginSettings {
  targets: number;
  connectTimeoutMs: number;
  keepAliveMs: number;
}

export interface HttpConnectionsOptions {
  onServerClose?: (origin: string) => void;
}

export class HttpConnections {
  readonly dispatcher: Agent;
  readonly #origins = new Map<string, OriginSettings>();

  constructor(options: HttpConnectionsOptions = {}) {
    this.dispatcher = new Agent({
      factory: (origin, agentOptions) => {
        const opts = agentOptions as Pool.Options;
        const key = originOf(origin);
        const settings = this.#origins.get(key) ?? { targets: 1, connectTimeoutMs: 10_000, keepAliveMs: 4000 };
        return new Pool(origin, {
          ...opts,
          connections: Math.min(settings.targets, MAX_CONNECTIONS_PER_ORIGIN),
          pipelining: 1,
          connect: { ...(typeof opts.connect === 'object' ? opts.connect : {}), timeout: settings.connectTimeoutMs },
          keepAliveTimeout: settings.keepAliveMs,
          keepAliveMaxTimeout: Math.max(600_000, settings.keepAliveMs),
        });
      },
    });
    this.dispatcher.on('disconnect', (origin, _targets, error) => {
      // The server (or the network) closed the connection: a FIN ("other side
      // closed") or a reset. Our own idle timeouts, aborts and shutdown say so
      // with other error codes.
      const code = (error as { code?: string } | undefined)?.code;
      if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') options.onServerClose?.(originOf(origin));
    });
  }

  /** Counts a target toward its origin's pool; call for every HTTP target before its first check. */
  register(spec: Pick<TargetSpec, 'url' | 'connectTimeoutMs' | 'intervalMs'>): string {
    const key = spec.url.origin;
    const keepAliveMs = Math.max(4000, spec.intervalMs * 3);
    const known = this.#origins.get(key);
    if (known) {
      known.targets += 1;
      known.connectTimeoutMs = Math.max(known.connectTimeoutMs, spec.connectTimeoutMs);
      known.keepAliveMs = Math.max(known.keepAliveMs, keepAliveMs);
    } else {
      this.#origins.set(key, { targets: 1, connectTimeoutMs: spec.connectTimeoutMs, keepAliveMs });
    }
    return key;
  }

  close(): Promise<void> {
    return this.dispatcher.destroy().catch(() => {});
  }
}

function originOf(origin: string | URL | { origin?: string }): string {
  if (typeof origin === 'string') return new URL(origin).origin;
  return (origin as URL).origin ?? String(origin);
}
