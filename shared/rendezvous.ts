/**
 * Rendezvous (highest-random-weight) hashing: which of n replicas own a key.
 * Each (key, replica) pair gets a weight, MurmurHash3 (x86, 32 bits) of the
 * key's UTF-8 bytes seeded with the replica's number; the k replicas with the
 * highest weights own the key (ties to the lower number). Every replica
 * computes the same answer alone, with no coordination, and adding replica
 * n + 1 moves a key only where the new replica's weight beats the old
 * owners': about k/(n + 1) of the keys, none between old replicas.
 * Replicas are numbered from 0 here; the flags that name them are the
 * caller's (agent/shard.ts).
 */

const encoder = new TextEncoder();

/** MurmurHash3 x86_32 of `bytes` with `seed`: an unsigned 32-bit integer. */
export function murmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The `copies` replicas (numbered 0 to replicas - 1) that own `key`, the highest weight first. */
export function owners(key: string, replicas: number, copies = 1): number[] {
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError('replicas must be a whole number of at least 1');
  if (!Number.isInteger(copies) || copies < 1 || copies > replicas) throw new RangeError('copies must be from 1 to replicas');
  const bytes = encoder.encode(key);
  const weights: Array<{ replica: number; weight: number }> = [];
  for (let replica = 0; replica < replicas; replica++) weights.push({ replica, weight: murmur3(bytes, replica) });
  weights.sort((a, b) => b.weight - a.weight || a.replica - b.replica);
  return weights.slice(0, copies).map((w) => w.replica);
}

/** Whether replica `replica` (0-based) of `replicas` is one of the `copies` owners of `key`. */
export function owns(key: string, replica: number, replicas: number, copies = 1): boolean {
  return owners(key, replicas, copies).includes(replica);
}
