/**
 * The HTTP checks on undici, for many checks a second. http-connections.ts
 * loads this module (and undici with it) only when the HTTP targets add up to
 * UNDICI_CHECKS_PER_SECOND or more: undici's dispatch costs about 60 % of the
 * CPU of node:http per kept-alive check, but its WASM HTTP parser costs about
 * 23 MB of RSS, which a few targets never earn back.
 *
 * One undici Agent every HTTP target shares: one connection pool per origin,
 * kept alive between checks, as many connections as the origin has targets
 * (at most MAX_CONNECTIONS_PER_ORIGIN); targets on one origin share its
 * longest connect timeout. A server's close of a connection (FIN, "other side
 * closed", or a reset) is reported through `onServerClose`; our own idle
 * timeouts, aborts and shutdown carry other error codes.
 *
 * A check is undici's low-level `dispatch` with a small handler rather than
 * `request`: no stream, promise chain or AbortController per check, which
 * keeps the garbage of thousands of checks a second low. A confirming check
 * opens a fresh Client with its short connect timeout.
 *
 * Each new TLS connection's certificate dates are read as it connects (a
 * wrapped connector): an origin's are those of its newest connection.
 */
import { Agent, buildConnector, Client, type Dispatcher, Pool } from 'undici';
import { CheckProgress, type HttpSpec, requestOf } from './http-judge.ts';
import type { CheckMode, CheckResult, Probe, SkipReason } from './probe.ts';
import { skipReasonOf } from './probe.ts';
import { sharedLookup } from '../lookup.ts';
import { certDatesOf, type ChainDates, explainFailure } from './tls-certificates.ts';
import { type TlsTrust, tlsTrustOf } from './tls-trust.ts';

export interface OriginSettings {
  targets: number;
  connectTimeoutMs: number;
  keepAliveMs: number;
  maxConnections: number;
  /** https: the TLS options of the origin's connections (tls-trust.ts). */
  tls?: TlsTrust['options'];
}

class CheckTimeout extends Error {
  override name = 'TimeoutError';
}
class EnoughRead extends Error {
  override name = 'EnoughRead';
}

export class UndiciConnections {
  readonly dispatcher: Agent;
  /** Per origin, the certificate dates of its newest TLS connection. */
  readonly #certs = new Map<string, ChainDates>();

  constructor(origins: ReadonlyMap<string, OriginSettings>, onServerClose: (origin: string) => void) {
    this.dispatcher = new Agent({
      factory: (origin, agentOptions) => {
        const opts = agentOptions as Pool.Options;
        const key = originOf(origin);
        const settings = origins.get(key) ?? { targets: 1, connectTimeoutMs: 10_000, keepAliveMs: 4000, maxConnections: 1 };
        const connect = { ...(typeof opts.connect === 'object' ? opts.connect : {}), timeout: settings.connectTimeoutMs, lookup: sharedLookup, ...settings.tls } as buildConnector.BuildOptions;
        return new Pool(origin, {
          ...opts,
          connections: Math.min(settings.targets, settings.maxConnections),
          pipelining: 1,
          connect: settings.tls ? noteCertificates(connect, (dates) => this.#certs.set(key, dates)) : connect,
          keepAliveTimeout: settings.keepAliveMs,
          keepAliveMaxTimeout: Math.max(600_000, settings.keepAliveMs),
        });
      },
    });
    this.dispatcher.on('disconnect', (origin, _targets, error) => {
      const code = (error as { code?: string } | undefined)?.code;
      if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') onServerClose(originOf(origin));
    });
  }

  close(): Promise<void> {
    return this.dispatcher.destroy().catch(() => {});
  }

  createProbe(spec: HttpSpec): Probe {
    return createUndiciProbe(spec, this.dispatcher, () => this.#certs.get(spec.url.origin));
  }
}

/** A connector that reads each new TLS connection's certificate dates (see the header). */
function noteCertificates(options: buildConnector.BuildOptions, note: (dates: ChainDates) => void): buildConnector.connector {
  const connector = buildConnector(options);
  return (opts, callback) =>
    connector(opts, (err, socket) => {
      const dates = err ? undefined : certDatesOf(socket);
      if (dates) note(dates);
      (callback as (err: Error | null, socket: unknown) => void)(err, socket);
    });
}

function createUndiciProbe(spec: HttpSpec, dispatcher: Dispatcher, certs: () => ChainDates | undefined): Probe {
  const origin = spec.url.origin;
  const path = `${spec.url.pathname}${spec.url.search}`;
  const timeoutMs = spec.timeoutMs;
  const { method, headers, body } = requestOf(spec);
  const tls = spec.url.protocol === 'https:' ? tlsTrustOf(spec).options : undefined;
  // A kept-alive connection keeps its certificate: while that is the trouble, each check opens a fresh one.
  let certFailed = false;

  return {
    check(mode: CheckMode = 'normal', confirmConnectTimeoutMs = spec.connectTimeoutMs): Promise<CheckResult> {
      const confirm = mode === 'confirm';
      const connectTimeoutMs = confirm ? Math.min(confirmConnectTimeoutMs, spec.connectTimeoutMs) : spec.connectTimeoutMs;
      return new Promise((resolve) => {
        const progress = new CheckProgress(spec, confirm);
        let freshCerts: ChainDates | undefined;
        const freshConnect = { timeout: connectTimeoutMs, lookup: sharedLookup, ...tls } as buildConnector.BuildOptions;
        const fresh =
          confirm || certFailed
            ? new Client(origin, { connect: tls ? noteCertificates(freshConnect, (dates) => (freshCerts = dates)) : freshConnect, pipelining: 1 })
            : undefined;
        let controller: Dispatcher.DispatchController | undefined;
        let done = false;

        const finish = (ok: boolean, reason: string | undefined, skipped?: SkipReason): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (fresh) void fresh.destroy().catch(() => {});
          certFailed = progress.certFailed;
          resolve(progress.result(ok, reason, skipped));
        };
        const failed = (err: unknown): void => {
          const skipped = skipReasonOf(err);
          explainFailure(err, spec.url, { timeoutMs, connectTimeoutMs }, (reason) => finish(false, reason, skipped));
        };
        const answered = (): void => {
          const reason = progress.verdict();
          finish(reason === undefined, reason);
        };
        const timer = setTimeout(() => {
          controller?.abort(new CheckTimeout(`timeout after ${timeoutMs}ms`));
          finish(false, `timeout after ${timeoutMs}ms`);
        }, timeoutMs);

        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(c) {
            controller = c;
            if (done) c.abort(new CheckTimeout(`timeout after ${timeoutMs}ms`));
          },
          onResponseStart(_c, statusCode, headers) {
            if (statusCode >= 200) progress.status = statusCode;
            const location = spec.follow === true ? headers.location : undefined;
            if (location !== undefined) progress.location = Array.isArray(location) ? location[0] : String(location);
            if (tls) progress.certDates = fresh ? freshCerts : certs();
          },
          onResponseData(c, chunk) {
            if (done) return;
            if (progress.take(chunk)) {
              // Enough to judge; closing the connection beats reading a huge body.
              answered();
              c.abort(new EnoughRead('enough of the body read'));
            }
          },
          onResponseEnd() {
            answered();
          },
          onResponseError(_c, err) {
            failed(err);
          },
        };
        try {
          (fresh ?? dispatcher).dispatch({ origin, path, method, headers, ...(body ? { body } : {}), headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler);
        } catch (err) {
          failed(err);
        }
      });
    },
  };
}

function originOf(origin: string | URL | { origin?: string }): string {
  if (typeof origin === 'string') return new URL(origin).origin;
  return (origin as URL).origin ?? String(origin);
}
