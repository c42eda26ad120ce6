/**
 * Sharded agents: rendezvous hashing (shared/rendezvous.ts) puts each of
 * 10,000 target names on exactly one replica (k with --copies k), and a
 * replica more moves at most 1/(n+1) + 2 % of them, all to the new one; the
 * --shard parser (agent/shard.ts), property-based.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { murmur3, owners } from '../../shared/rendezvous.ts';
import { MAX_REPLICAS, parseShard, type Shard, shardOf, shareOf } from '../../agent/shard.ts';

const NAMES = Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? `http://site-${i}.example/` : i % 3 === 1 ? `tcp://db-${i}:5432` : `api-${i}`));
const TARGETS = NAMES.map((name) => ({ name }));

const shard = (replica: number, replicas: number, copies = 1): Shard => ({ replica, replicas, copies, label: `${replica + 1}/${replicas}` });

test('murmur3 is MurmurHash3 x86_32 (the published vectors)', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.equal(murmur3(bytes(''), 0), 0);
  assert.equal(murmur3(bytes(''), 1), 0x514e28b7);
  assert.equal(murmur3(bytes('hello'), 0), 0x248bfa47);
  assert.equal(murmur3(bytes('The quick brown fox jumps over the lazy dog'), 0), 0x2e4ff723);
});

test('over 10,000 names each is on exactly one replica, or on k with --copies k, and the shares are even', () => {
  for (const [n, k] of [[1, 1], [2, 1], [3, 1], [4, 1], [7, 1], [3, 2], [5, 3], [4, 4]] as const) {
    const seen = new Map<string, number>();
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const share = shareOf(TARGETS, shard(i, n, k));
      sizes.push(share.length);
      for (const t of share) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    }
    assert.equal(seen.size, NAMES.length, `n=${n} k=${k}: every name is watched`);
    for (const [name, count] of seen) assert.equal(count, k, `n=${n} k=${k}: ${name} on ${count} replicas`);
    const even = (NAMES.length * k) / n;
    for (const size of sizes) assert.ok(Math.abs(size - even) <= 0.05 * NAMES.length, `n=${n} k=${k}: shares ${sizes}, about ${even} each`);
  }
});

test('going from n to n+1 replicas moves at most 1/(n+1) + 2 % of 10,000 names, each to the new replica (3 → 4: at most 27 %)', () => {
  for (let n = 1; n <= 12; n++) {
    let moved = 0;
    for (const name of NAMES) {
      const [before] = owners(name, n);
      const [after] = owners(name, n + 1);
      if (before === after) continue;
      moved += 1;
      assert.equal(after, n, `${name} moved from ${before} to ${after}, not to the new replica`);
    }
    const bound = 1 / (n + 1) + 0.02;
    assert.ok(moved / NAMES.length <= bound, `${n} → ${n + 1}: ${moved} names moved (${((moved / NAMES.length) * 100).toFixed(1)} %), over ${(bound * 100).toFixed(1)} %`);
    if (n === 3) assert.ok(moved <= 2700, `3 → 4: ${moved} moved`);
  }
});

test('with --copies k a replica more changes at most k/(n+1) + 2 % of the names, each by one owner handed to the new replica', () => {
  for (const [n, k] of [[3, 2], [4, 2], [5, 3]] as const) {
    let changed = 0;
    for (const name of NAMES) {
      const before = new Set(owners(name, n, k));
      const after = owners(name, n + 1, k);
      const added = after.filter((r) => !before.has(r));
      if (added.length === 0) continue;
      changed += 1;
      assert.deepEqual(added, [n], `${name}: ${[...before]} → ${after}`);
    }
    assert.ok(changed / NAMES.length <= k / (n + 1) + 0.02, `${n} → ${n + 1}, k=${k}: ${changed} changed`);
  }
});

test('--shard: i/n counts from 1 and index:i/n from 0, naming the same replicas; anything else is a one-line refusal', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_REPLICAS }).chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))), ([i, n]) => {
      const slot = parseShard(`${i}/${n}`);
      assert.deepEqual(slot, { replica: i - 1, replicas: n, label: `${i}/${n}` });
      assert.deepEqual(parseShard(` index:${i - 1}/${n} `), slot);
      assert.deepEqual(parseShard(`INDEX:${i - 1}/${n}`), slot);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_REPLICAS }).chain((n) => fc.tuple(fc.integer({ min: n + 1, max: 10 * MAX_REPLICAS }), fc.constant(n))), ([i, n]) => {
      assert.throws(() => parseShard(`${i}/${n}`), /past the last replica: i goes from 1 to/);
      assert.throws(() => parseShard(`index:${i - 1}/${n}`), /past the last replica: an index goes from 0 to/);
    }),
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('0', '1', '9', '/', ':', 'index', ' ', '-', '+', '.') })), (text) => {
      try {
        const s = parseShard(text);
        assert.ok(s.replica >= 0 && s.replica < s.replicas && s.replicas <= MAX_REPLICAS, JSON.stringify(s));
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.doesNotMatch(err.message, /[\r\n]/);
        assert.ok(err.message.length < 300);
      }
    }),
  );
  assert.throws(() => parseShard('0/3'), /^Error: Replicas count from 1 in i\/n \(1\/3 to 3\/3\); for a 0-based index write index:0\/3\.$/);
  assert.throws(() => parseShard('1/0'), /must be from 1 to 1000/);
  assert.throws(() => parseShard('2'), /^Error: Expected i\/n with i from 1 to n \(Swarm: SHARD=\{\{\.Task\.Slot\}\}\/3\), or index:i\/n/);
  assert.throws(() => parseShard('-1/3'), /Expected i\/n/);
});

test('--copies: at most the replicas, and only with --shard', () => {
  const two = parseShard('1/2');
  assert.deepEqual(shardOf(two, undefined), { ...two, copies: 1 });
  assert.deepEqual(shardOf(two, 2), { ...two, copies: 2 });
  assert.throws(() => shardOf(two, 3), /^Error: --copies 3 \(COPIES\) is more than the 2 replicas of --shard 1\/2 \(SHARD\)\.$/);
  assert.equal(shardOf(undefined, 1), undefined);
  assert.throws(() => shardOf(undefined, 2), /--copies \(COPIES\) needs --shard i\/n \(SHARD\)/);
});
