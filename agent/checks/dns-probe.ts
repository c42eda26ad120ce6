/**
 * One check of a dns:// target (dns-target.ts): one query of its type to its
 * server (or the system's), within the check's timeout, one try. Down on
 * NXDOMAIN, no answer of the type, a timeout, a refusal, or an answer that
 * has none of `expect`. One Resolver per target (one UDP socket while a
 * query is in flight: one descriptor, as descriptors.ts counts it).
 */
import type { CheckMode, CheckResult, Probe } from './probe.ts';
import { skipReasonOf } from './probe.ts';
import { type DnsQuery, parseDnsTarget } from '../dns-target.ts';
import type { TargetSpec } from '../target.ts';

type DnsSpec = Pick<TargetSpec, 'url' | 'timeoutMs' | 'maxResponseTimeMs'>;

const REASONS: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN: the name does not exist',
  ENODATA: 'no %s record',
  ETIMEOUT: 'DNS timeout after %tms',
  ECONNREFUSED: 'the DNS server refused the connection',
  EREFUSED: 'the DNS server refused the query',
  ESERVFAIL: 'the DNS server failed (SERVFAIL)',
  EBADRESP: 'a bad DNS answer',
};

export function createDnsProbe(spec: DnsSpec): Probe {
  const query = parseDnsTarget(spec.url) as DnsQuery;
  const { Resolver } = process.getBuiltinModule('node:dns').promises;
  const resolver = new Resolver({ timeout: spec.timeoutMs, tries: 1 });
  if (query.server) resolver.setServers([query.server]);
  const expect = query.expect?.map((e) => e.toLowerCase().replace(/\.$/, ''));
  return {
    async check(mode: CheckMode = 'normal'): Promise<CheckResult> {
      const started = performance.now();
      const at = Date.now();
      const result = (ok: boolean, reason?: string, err?: unknown): CheckResult => {
        const r: CheckResult = { ok, latencyMs: performance.now() - started, at };
        if (ok && spec.maxResponseTimeMs !== undefined && r.latencyMs > spec.maxResponseTimeMs) {
          Object.assign(r, { ok: false, reason: `slow: ${Math.round(r.latencyMs)}ms, over ${spec.maxResponseTimeMs}ms` });
        } else if (reason !== undefined) r.reason = reason;
        const skipped = skipReasonOf(err);
        if (skipped) r.skipped = skipped;
        if (mode === 'confirm') r.confirm = true;
        return r;
      };
      let answers: string[];
      try {
        answers = await resolve(resolver, query);
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        const text = REASONS[code]?.replace('%s', query.type).replace('%t', String(spec.timeoutMs)) ?? `DNS error: ${code || (err as Error).message}`;
        return result(false, text, err);
      }
      if (answers.length === 0) return result(false, `no ${query.type} record`);
      if (expect && !answers.some((a) => expect.includes(a.toLowerCase().replace(/\.$/, '')))) {
        const shown = answers.slice(0, 5).join(', ') + (answers.length > 5 ? ', …' : '');
        return result(false, `${query.type} answer ${shown}, expected ${query.expect!.join(' or ')}`);
      }
      return result(true);
    },
  };
}

async function resolve(resolver: InstanceType<typeof import('node:dns').promises.Resolver>, q: DnsQuery): Promise<string[]> {
  switch (q.type) {
    case 'A':
      return resolver.resolve4(q.name);
    case 'AAAA':
      return resolver.resolve6(q.name);
    case 'CNAME':
      return resolver.resolveCname(q.name);
    case 'MX':
      return (await resolver.resolveMx(q.name)).map((m) => m.exchange);
    case 'TXT':
      return (await resolver.resolveTxt(q.name)).map((chunks) => chunks.join(''));
  }
}
