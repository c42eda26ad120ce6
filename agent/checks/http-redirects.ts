/**
 * `follow: true`: a check that follows redirects. A 3xx answer with a
 * Location is not judged; the check goes on to the URL it names (relative
 * ones resolved against the answer's), over the same connections, with the
 * same request, and the last answer is judged. At most MAX_REDIRECTS hops
 * ("too many redirects" after), each within the target's timeout; the
 * latency is the sum. A redirect to another origin gets that origin's
 * kept-alive agent (http-connections.ts). Without `follow` (the default) a
 * 3xx is the answer, judged by expectStatus (2xx,3xx by default).
 */
import type { HttpConnections } from './http-connections.ts';
import type { HttpSpec } from './http-judge.ts';
import type { CheckMode, CheckResult, Probe } from './probe.ts';

export const MAX_REDIRECTS = 5;

/** A probe of `spec` that follows redirects; `probeFor` makes the probe of one URL. */
export function followingProbe(spec: HttpSpec, connections: HttpConnections, probeFor: (spec: HttpSpec, connections: HttpConnections) => Probe): Probe {
  const first = probeFor(spec, connections);
  // The probes of the URLs redirected to, by URL: most sites redirect to one or two.
  const hops = new Map<string, Probe>();
  const probeOf = (url: URL): Probe => {
    let probe = hops.get(url.href);
    if (!probe) {
      if (hops.size >= 16) hops.clear();
      probe = probeFor({ ...spec, url }, connections);
      hops.set(url.href, probe);
    }
    return probe;
  };
  return {
    async check(mode?: CheckMode, confirmConnectTimeoutMs?: number): Promise<CheckResult> {
      let result = await first.check(mode, confirmConnectTimeoutMs);
      let url = spec.url;
      let latencyMs = result.latencyMs;
      for (let hop = 0; result.location !== undefined; hop++) {
        let next: URL;
        try {
          next = new URL(result.location, url);
        } catch {
          return { ...result, ok: false, reason: `bad redirect: ${JSON.stringify(result.location.slice(0, 100))} is not a URL`, latencyMs };
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') return { ...result, ok: false, reason: `bad redirect: to ${next.protocol}`, latencyMs };
        if (hop >= MAX_REDIRECTS) return { ...result, ok: false, reason: `too many redirects (more than ${MAX_REDIRECTS})`, latencyMs };
        url = next;
        result = await probeOf(next).check(mode, confirmConnectTimeoutMs);
        latencyMs += result.latencyMs;
      }
      return { ...result, latencyMs, at: result.at - (latencyMs - result.latencyMs) };
    },
  };
}
