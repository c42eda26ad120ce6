/**
 * One HTTP check of one target: GET, then the status, the body keywords and
 * the response time decide. Normal checks go over the origin's kept-alive
 * node:http agent (http-connections.ts); a confirming check opens a fresh
 * connection with a short connect timeout, so a dead address is confirmed in
 * a fraction of the usual connect timeout.
 *
 * Per check: one ClientRequest, its response, one timer for the whole check,
 * and a few listeners; no promise chain, stream pipeline or AbortController,
 * which keeps the garbage (and so the memory) of thousands of checks a second
 * low. A body is read up to what the judgement needs; beyond it the connection
 * is closed rather than drained.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { ConnectOptions, HttpConnections } from './http-connections.ts';
import { CheckProgress, type HttpSpec, requestOf } from './http-judge.ts';
import type { CheckMode, CheckResult, Probe, SkipReason } from './probe.ts';
import { skipReasonOf } from './probe.ts';
import { endpointOf } from '../target.ts';
import { certDatesOf, explainFailure } from './tls-certificates.ts';
import { tlsTrustOf } from './tls-trust.ts';
import { followingProbe } from './http-redirects.ts';

export { BODY_LIMIT_BYTES, judge } from './http-judge.ts';

type Options = RequestOptions & ConnectOptions;

// node:http through process.getBuiltinModule, not an ESM import (~14 MB of RSS: see http-connections.ts).
const httpRequest = process.getBuiltinModule('node:http').request;

/**
 * The check of one HTTP target, on the backend `connections` chose for the
 * whole agent at the first check (node:http, or undici for many checks a second).
 */
export function createHttpProbe(spec: HttpSpec, connections: HttpConnections): Probe {
  return spec.follow === true ? followingProbe(spec, connections, backendProbe) : backendProbe(spec, connections);
}

/** The check of one URL (with `follow`, it reports a redirect's Location instead of following it). */
function backendProbe(spec: HttpSpec, connections: HttpConnections): Probe {
  let probe: Probe | undefined;
  return {
    check(mode?: CheckMode, confirmConnectTimeoutMs?: number): Promise<CheckResult> {
      if (probe) return probe.check(mode, confirmConnectTimeoutMs);
      const undici = connections.undici();
      if (!undici) {
        probe = createNodeHttpProbe(spec, connections);
        return probe.check(mode, confirmConnectTimeoutMs);
      }
      return undici.then((u) => {
        probe ??= u.createProbe(spec);
        return probe.check(mode, confirmConnectTimeoutMs);
      });
    },
  };
}

/** A check on node:http: the origin's kept-alive agent, or a fresh connection to confirm. */
export function createNodeHttpProbe(spec: HttpSpec, connections: HttpConnections): Probe {
  const timeoutMs = spec.timeoutMs;
  // node:https (and TLS with it: ~6 MB of RSS) is loaded only for an https target.
  const request = spec.url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : httpRequest;
  const { host, port } = endpointOf(spec.url);
  // node:http copies the options of each request: one object serves every normal check.
  const { method, headers, body } = requestOf(spec);
  const base: Options = { host, port, path: `${spec.url.pathname}${spec.url.search}`, method, headers, connectTimeoutMs: spec.connectTimeoutMs };
  let pooled: Options | undefined;
  const trust = spec.url.protocol === 'https:' ? tlsTrustOf(spec) : undefined;
  // A kept-alive connection keeps its certificate: while that is the trouble, each check opens a fresh one.
  let certFailed = false;

  return {
    check(mode: CheckMode = 'normal', confirmConnectTimeoutMs = spec.connectTimeoutMs): Promise<CheckResult> {
      const confirm = mode === 'confirm';
      const connectTimeoutMs = confirm ? Math.min(confirmConnectTimeoutMs, spec.connectTimeoutMs) : spec.connectTimeoutMs;
      const options = confirm || certFailed
        ? { ...base, agent: connections.freshAgentFor(spec.url, trust), connectTimeoutMs }
        : (pooled ??= { ...base, agent: connections.agentFor(spec.url, trust) });
      return new Promise((resolve) => {
        const progress = new CheckProgress(spec, confirm);
        let done = false;
        let req: ClientRequest | undefined;
        let response: IncomingMessage | undefined;

        const finish = (ok: boolean, reason: string | undefined, skipped?: SkipReason): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          certFailed = progress.certFailed;
          resolve(progress.result(ok, reason, skipped));
        };
        const answered = (): void => {
          const reason = progress.verdict();
          finish(reason === undefined, reason);
        };
        let failing = false;
        const failed = (err: unknown): void => {
          // The reason may take a moment (tls-certificates.ts): the request's close must not stand in for it.
          failing = true;
          const skipped = skipReasonOf(err);
          explainFailure(err, spec.url, { timeoutMs, connectTimeoutMs }, (reason) => finish(false, reason, skipped));
        };
        const timer = setTimeout(() => {
          finish(false, `timeout after ${timeoutMs}ms`);
          req?.destroy();
        }, timeoutMs);

        const onResponse = (res: IncomingMessage): void => {
          response = res;
          progress.status = res.statusCode ?? 0;
          if (trust) progress.certDates = certDatesOf(res.socket);
          if (spec.follow === true) progress.location = res.headers.location;
          res.on('error', failed);
          res.on('data', (chunk: Buffer) => {
            if (done) return;
            if (progress.take(chunk)) {
              // Enough to judge; closing the connection beats reading a huge body.
              answered();
              req?.destroy();
            }
          });
          res.on('end', answered);
        };
        try {
          req = request(options, onResponse);
          req.on('error', failed);
          req.on('close', () => {
            // A close before the answer's end and with no error: the server went away mid-answer.
            if (done || failing) return;
            if (response?.complete) answered();
            else finish(false, 'connection closed by the server');
          });
          if (body) req.end(body);
          else req.end();
        } catch (err) {
          failed(err);
        }
      });
    },
  };
}
