/** Buckets as row objects and back (hub/model.ts PackedBuckets), for tests that build or read the hub's buckets. */
import { type BucketRow, DAY_MS, HOUR_MS, PACKED_WIDTH, type PackedBuckets } from '../../mailer/hub/model.ts';

export function packBuckets(buckets: readonly BucketRow[]): PackedBuckets {
  const names = [...new Set(buckets.map((b) => b.target))];
  const rows = new Float64Array(buckets.length * PACKED_WIDTH);
  buckets.forEach((b, r) => {
    const o = r * PACKED_WIDTH;
    rows.set([names.indexOf(b.target), b.size, b.start, b.checks, b.failures, b.incidents], o);
    rows.set(b.latency.slice(0, PACKED_WIDTH - 6), o + 6);
  });
  return { names, rows };
}

export function unpackBuckets(packed: PackedBuckets): BucketRow[] {
  const out: BucketRow[] = [];
  const { names, rows } = packed;
  for (let o = 0; o + PACKED_WIDTH <= rows.length; o += PACKED_WIDTH) {
    out.push({
      target: names[rows[o]!]!,
      size: rows[o + 1] === HOUR_MS ? HOUR_MS : DAY_MS,
      start: rows[o + 2]!,
      checks: rows[o + 3]!,
      failures: rows[o + 4]!,
      incidents: rows[o + 5]!,
      latency: Array.from(rows.subarray(o + 6, o + PACKED_WIDTH)),
    });
  }
  return out;
}
