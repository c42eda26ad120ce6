/**
 * Refusal lines a flood cannot turn into a log flood
 * (shared/throttled-log.ts): per key at most perKey lines an interval, at
 * most total in all, the next line saying how many were held back; many
 * keys share one budget past maxKeys. And the per-peer rate of the
 * agents' reports (mailer/http/peer-rate.ts): a burst, then the rate, with
 * the wait to tell in Retry-After. node:test's mock Date.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../shared/logger.ts';
import { REFUSAL_LIMITS, ThrottledLog } from '../../shared/throttled-log.ts';
import { PeerRate } from '../../mailer/http/peer-rate.ts';

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string): void => void lines.push(m);
  return { lines, debug: keep, info: keep, output: keep, warn: keep, error: keep };
}

test('per key: perKey lines an interval, then held back and counted on the next line out', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const log = logger();
  const perKey = REFUSAL_LIMITS.perKey!;
  const throttled = new ThrottledLog(log, REFUSAL_LIMITS);
  for (let i = 0; i < perKey + 15; i++) throttled.warn(`refused ${i}`, {}, '192.0.2.1');
  throttled.warn('refused other', {}, '192.0.2.2');
  assert.equal(log.lines.length, perKey + 1, log.lines.join('\n'));
  assert.equal(log.lines.at(-2), `refused ${perKey - 1}`);
  t.mock.timers.tick(10_000);
  throttled.warn('refused again', {}, '192.0.2.1');
  assert.equal(log.lines.at(-1), 'refused again (15 more like it since the last such line)');
});

test('in all: at most total lines an interval over every key, and a bounded number of keys', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const log = logger();
  const throttled = new ThrottledLog(log, { perKey: 10, total: 100, maxKeys: 50 });
  for (let peer = 0; peer < 5000; peer++) throttled.warn(`refused from ${peer}`, {}, `2001:db8::${peer.toString(16)}`);
  // 50 keys with a line each, then every other peer shares the overflow key's 10.
  assert.equal(log.lines.length, 60);
  const wide = new ThrottledLog(log, { perKey: 10, total: 100 });
  for (let i = 0; i < 50; i++) for (let peer = 0; peer < 20; peer++) wide.warn('refused', {}, `192.0.2.${peer}`);
  assert.equal(log.lines.length, 160, 'total: 100 lines in all, though 20 peers could have had 200');
  t.mock.timers.tick(10_000);
  for (let peer = 0; peer < 5000; peer++) throttled.warn(`refused from ${peer}`, {}, `2001:db8::${peer.toString(16)}`);
  assert.equal(log.lines.length, 220, 'the next interval: again 50 keys (the expired ones made room) and the overflow');
});

test('the default (one line an interval, one key) is what connection refusals had', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const log = logger();
  const throttled = new ThrottledLog(log);
  for (let i = 0; i < 5; i++) throttled.warn('closed', {});
  t.mock.timers.tick(10_000);
  throttled.warn('closed', {});
  assert.deepEqual(log.lines, ['closed', 'closed (4 more like it since the last such line)']);
});

test('a peer rate: the burst, then one every 1/perSecond, with the seconds to wait; peers apart', () => {
  let now = 0;
  const rate = new PeerRate({ burst: 3, perSecond: 0.5, maxPeers: 2, now: () => now });
  assert.deepEqual([rate.take('a'), rate.take('a'), rate.take('a')], [0, 0, 0]);
  assert.equal(rate.take('a'), 2);
  assert.equal(rate.take('b'), 0, 'another peer has its own burst');
  now += 2000;
  assert.equal(rate.take('a'), 0);
  assert.equal(rate.take('a'), 2);
  // More peers than maxPeers: memory stays bounded (a forgotten peer starts with a full burst again).
  for (let i = 0; i < 100; i++) rate.take(`p${i}`);
  assert.equal(rate.take('p99'), 0);
});
