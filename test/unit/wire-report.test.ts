/** shared/wire-report.ts: the optional certExpiresAt of a target is read; anything else unknown is still refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATENCY_BUCKETS_MS, validateReport } from '../../shared/wire-report.ts';

const report = (target: Record<string, unknown>) => ({
  v: 1,
  agent: { name: 'web-agent', instance: 'abcdef0123456789', version: '0.1.0' },
  sentAt: new Date().toISOString(),
  intervalMs: 10_000,
  targets: [{ name: 'shop', state: 'up', checks: 1, failures: 0, latency: Array(LATENCY_BUCKETS_MS.length + 1).fill(0), ...target }],
});

test('a target may carry certExpiresAt, an ISO 8601 date, which the parse keeps', () => {
  const parsed = validateReport(report({ certExpiresAt: '2026-12-10T00:00:00.000Z' }));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.value.targets[0]?.certExpiresAt, '2026-12-10T00:00:00.000Z');
  assert.equal('certExpiresAt' in (validateReport(report({})) as { value: { targets: object[] } }).value.targets[0]!, false);
});

test('a bad certExpiresAt and other unknown fields are refused with the reason', () => {
  assert.deepEqual(validateReport(report({ certExpiresAt: 'soon' })), { ok: false, error: 'targets[0].certExpiresAt must be an ISO 8601 date' });
  assert.deepEqual(validateReport(report({ certExpiresAt: 5 })), { ok: false, error: 'targets[0].certExpiresAt must be an ISO 8601 date' });
  assert.deepEqual(validateReport(report({ certExpiry: 5 })), { ok: false, error: 'targets[0]: unknown field "certExpiry"' });
});
