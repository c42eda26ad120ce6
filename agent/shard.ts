/**
 * Sharded agents: `--shard i/n` (SHARD) makes this agent replica i of n, and
 * it watches only the targets that rendezvous hashing over their names
 * (shared/rendezvous.ts) gives to it; with `--copies k` (COPIES) each target
 * goes to k of the n replicas (for the hub's --quorum). Every replica reads
 * the same targets and computes the same split alone.
 *
 * Two ways to name the replica, so that both orchestrators' numbers go in
 * as they come: `i/n` counts from 1 (1/3, 2/3, 3/3: Swarm's
 * `{{.Task.Slot}}/3`), `index:i/n` from 0 (index:0/3 … index:2/3: the
 * Kubernetes pod index). `2/3` and `index:1/3` are the same replica.
 */
import { owns } from '../shared/rendezvous.ts';
import type { TargetSpec } from './target.ts';

/** Most replicas a shard may name. */
export const MAX_REPLICAS = 1000;

export interface Shard {
  /** This replica, from 0. */
  replica: number;
  replicas: number;
  /** How many replicas watch each target (1 to replicas). */
  copies: number;
  /** As the start line names it: "2/3" (1-based, whichever form was given). */
  label: string;
}

const FORM = 'i/n with i from 1 to n (Swarm: SHARD={{.Task.Slot}}/3), or index:i/n with i from 0 to n-1 (a Kubernetes pod index)';

/** --shard: "i/n" (1-based) or "index:i/n" (0-based) → replica from 0 and the count. Throws a one-line Error. */
export function parseShard(text: string): Pick<Shard, 'replica' | 'replicas' | 'label'> {
  const value = text.trim();
  const m = /^(index:)?(\d{1,7})\/(\d{1,7})$/i.exec(value);
  if (!m) throw new Error(`Expected ${FORM}.`);
  const zeroBased = m[1] !== undefined;
  const i = Number(m[2]);
  const n = Number(m[3]);
  if (n < 1 || n > MAX_REPLICAS) throw new Error(`The number of replicas (n in i/n) must be from 1 to ${MAX_REPLICAS}.`);
  if (zeroBased && i >= n) throw new Error(`index:${i}/${n} is past the last replica: an index goes from 0 to ${n - 1}.`);
  if (!zeroBased && i === 0) throw new Error(`Replicas count from 1 in i/n (1/${n} to ${n}/${n}); for a 0-based index write index:0/${n}.`);
  if (!zeroBased && i > n) throw new Error(`${i}/${n} is past the last replica: i goes from 1 to ${n}.`);
  const replica = zeroBased ? i : i - 1;
  return { replica, replicas: n, label: `${replica + 1}/${n}` };
}

/** --shard and --copies together; `copies` undefined: 1. Throws a one-line Error naming the flags. */
export function shardOf(shard: Pick<Shard, 'replica' | 'replicas' | 'label'> | undefined, copies: number | undefined): Shard | undefined {
  if (shard === undefined) {
    if (copies !== undefined && copies !== 1) throw new Error('--copies (COPIES) needs --shard i/n (SHARD): without replicas there is nothing to copy to.');
    return undefined;
  }
  const k = copies ?? 1;
  if (k > shard.replicas) throw new Error(`--copies ${k} (COPIES) is more than the ${shard.replicas} replica${shard.replicas === 1 ? '' : 's'} of --shard ${shard.label} (SHARD).`);
  return { ...shard, copies: k };
}

/** The targets this replica watches, in their order. */
export function shareOf<T extends Pick<TargetSpec, 'name'>>(targets: readonly T[], shard: Shard): T[] {
  return targets.filter((t) => owns(t.name, shard.replica, shard.replicas, shard.copies));
}

/** The start line of a sharded agent. */
export function shardLine(shard: Shard, watched: number, total: number): string {
  const copies = shard.copies > 1 ? `, each target on ${shard.copies} of the ${shard.replicas} replicas` : '';
  if (watched === 0) {
    return `Shard ${shard.label}: none of the ${total} target${total === 1 ? '' : 's'} falls to this replica${copies}; watching nothing (reports go on, so the hub knows this agent).`;
  }
  return `Shard ${shard.label}: watching ${watched} of ${total} target${total === 1 ? '' : 's'}${copies}.`;
}
