/**
 * One check of a tcp://host:port target: up if a TCP connection opens within
 * the connect timeout (and the whole check's timeout); the connection is
 * closed at once. A confirming check uses the shorter connect timeout it is
 * given. No descriptor for the socket (EMFILE, ENFILE) is no verdict
 * (`skipped`). With `sockets` (a low open-file limit) each connection is
 * counted there, after it made room (check-sockets.ts).
 */
import { connect } from 'node:net';
import type { CheckSockets } from './check-sockets.ts';
import type { CheckMode, CheckResult, Probe } from './probe.ts';
import { describeFailure, skipReasonOf } from './probe.ts';
import { sharedLookup } from '../lookup.ts';
import { endpointOf, type TargetSpec } from '../target.ts';

type TcpSpec = Pick<TargetSpec, 'url' | 'timeoutMs' | 'connectTimeoutMs' | 'maxResponseTimeMs'>;

export function createTcpProbe(spec: TcpSpec, sockets?: CheckSockets): Probe {
  const { host, port } = endpointOf(spec.url);
  return {
    check(mode: CheckMode = 'normal', confirmConnectTimeoutMs = spec.connectTimeoutMs): Promise<CheckResult> {
      const confirm = mode === 'confirm';
      const limitMs = Math.min(spec.timeoutMs, confirm ? Math.min(confirmConnectTimeoutMs, spec.connectTimeoutMs) : spec.connectTimeoutMs);
      const started = performance.now();
      const at = Date.now();
      return new Promise((resolve) => {
        sockets?.makeRoom();
        const socket = connect({ host, port, noDelay: true, lookup: sharedLookup });
        sockets?.opened(socket);
        const finish = (ok: boolean, reason?: string, err?: unknown): void => {
          clearTimeout(timer);
          socket.removeAllListeners();
          socket.on('error', () => {});
          socket.destroy();
          const latencyMs = performance.now() - started;
          let result: CheckResult = { ok, latencyMs, at };
          if (ok && spec.maxResponseTimeMs !== undefined && latencyMs > spec.maxResponseTimeMs) {
            result = { ok: false, latencyMs, at, reason: `slow: ${Math.round(latencyMs)}ms, over ${spec.maxResponseTimeMs}ms` };
          } else if (!ok) {
            result.reason = reason ?? 'check failed';
            const skipped = skipReasonOf(err);
            if (skipped) result.skipped = skipped;
          }
          if (confirm) result.confirm = true;
          resolve(result);
        };
        const timer = setTimeout(() => finish(false, `connect timeout after ${limitMs}ms`), limitMs);
        socket.once('connect', () => finish(true));
        socket.once('error', (err) => finish(false, describeFailure(err, { timeoutMs: spec.timeoutMs, connectTimeoutMs: limitMs }), err));
      });
    },
  };
}
