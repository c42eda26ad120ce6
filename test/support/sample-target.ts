/** A target as the agent's config makes it (agent/target.ts TargetSpec), with the book's defaults, for tests of the agent's parts. */
import { parseExpectStatus } from '../../agent/expect-status.ts';
import type { TargetSpec } from '../../agent/target.ts';

export function sampleTarget(url: string, extra: Partial<TargetSpec> = {}): TargetSpec {
  const u = new URL(url);
  return {
    name: extra.name ?? u.href,
    url: u,
    kind: u.protocol === 'tcp:' ? 'tcp' : 'http',
    intervalMs: 200,
    timeoutMs: 2000,
    connectTimeoutMs: 1000,
    expectStatus: parseExpectStatus('2xx,3xx'),
    expectStatusSpec: '2xx,3xx',
    failureThreshold: 2,
    successThreshold: 1,
    remindEveryMs: 0,
    maxReminders: 10,
    to: ['admin@work'],
    message: 'The service is down!',
    upMessage: 'The service is back up.',
    ...extra,
  };
}
