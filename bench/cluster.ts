/**
 * cluster (issue 17, item 9): three mailers on one Postgres against one
 * mailer on SQLite, in the same run, each a bundle (dist/mailer.mjs) on
 * loopback delivering to a local SMTP server (bench/cluster-parts.ts).
 *
 *   - durable intake: `concurrency` senders on kept-alive connections
 *     (lean-http-client.ts), spread over the mailers, POST `alerts` fresh
 *     alerts; alerts/s until the last 202;
 *   - deliveries: alerts/s from the first POST to the last alert accepted by
 *     the SMTP server;
 *   - a SIGKILL amid a burst: one of the three killed half-way through a
 *     further burst while the SMTP server answers; its senders move to the
 *     next mailer; the alerts delivered twice (the sends in flight) in %;
 *   - failover, `trials` times: the SMTP server holds every answer, 50 alerts
 *     are posted to one mailer (its claims), it is SIGKILLed, the SMTP server
 *     takes mail again: from the SIGKILL to the first of those alerts
 *     delivered by another mailer, p50 / p95 (goal ≤ 5 s); the killed mailer
 *     is started again for the next trial;
 *   - duplicates: alerts the SMTP server took more than once, in % of all.
 * Figures are printed, never asserted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchMailer, type BenchSmtp, startMailer, startPostgres, startSmtp } from './cluster-parts.ts';
import { LeanConnection } from './lean-http-client.ts';
import { defer, type Figures, ms, progress, stats, waitUntil, withTimeout } from './lib.ts';

export interface ClusterOptions {
  alerts: number;
  concurrency: number;
  trials: number;
}

const B = 'cluster';
const MAILERS = 3;
const FAILOVER_ALERTS = 50;

const body = (id: string): string => JSON.stringify({ to: 'admin@work', message: `bench ${id}`, id });

/**
 * Post `n` fresh alerts over `concurrency` senders, each on a kept-alive connection to one of the
 * mailers; a sender whose post gets no 202 (its mailer killed) moves to the next live mailer and
 * posts the same alert again, as the agent fails over along its list. `atAck`: called once, when
 * that many alerts have their 202.
 */
async function burst(mailers: readonly BenchMailer[], n: number, concurrency: number, atAck?: { count: number; then: () => void }): Promise<{ ids: string[]; seconds: number; retried: number; answers: Map<string, number> }> {
  const live = (m: BenchMailer): boolean => m.proc.child.exitCode === null && m.proc.child.signalCode === null;
  const open = new Set<LeanConnection>();
  const connect = (k: number): LeanConnection => {
    const c = new LeanConnection('127.0.0.1', mailers[k]!.port);
    c.ready.catch(() => {});
    open.add(c);
    return c;
  };
  const close = defer('close the senders', () => open.forEach((c) => c.close()));
  const ids = Array.from({ length: n }, () => randomUUID());
  let next = 0;
  let retried = 0;
  let acked = 0;
  const answers = new Map<string, number>();
  const t0 = performance.now();
  const sender = async (s: number): Promise<void> => {
    let k = s % mailers.length;
    let c = connect(k);
    for (let i = next++; i < n; i = next++) {
      for (let tries = 0; ; tries++) {
        const status = await c.post('127.0.0.1', '/alerts', body(ids[i]!)).catch((err: Error) => err.message);
        if (status === 202) break;
        answers.set(String(status), (answers.get(String(status)) ?? 0) + 1);
        if (tries >= 2 * mailers.length) throw new Error(`alert ${i}: no 202 from any mailer`);
        retried += 1;
        c.close();
        open.delete(c);
        do k = (k + 1) % mailers.length;
        while (!live(mailers[k]!) && mailers.some(live));
        c = connect(k);
      }
      if (++acked === atAck?.count) atAck.then();
    }
  };
  await withTimeout(Promise.all(Array.from({ length: concurrency }, (_, s) => sender(s))), Math.max(120_000, n * 10), `${n} alerts`);
  const seconds = (performance.now() - t0) / 1000;
  await close();
  return { ids, seconds, retried, answers };
}

/** When (performance.now()) every id was first accepted by the SMTP server; waits up to `timeoutMs`. */
async function delivered(smtp: BenchSmtp, ids: readonly string[], timeoutMs: number): Promise<number[]> {
  const want = new Set(ids);
  const first = new Map<string, number>();
  await waitUntil(`${ids.length} alerts delivered`, () => {
    for (const a of smtp.accepted) if (want.has(a.id) && !first.has(a.id)) first.set(a.id, a.at);
    return first.size === want.size ? true : undefined;
  }, timeoutMs, 20);
  return [...first.values()];
}

async function throughput(figures: Figures, label: string, mailers: readonly BenchMailer[], smtp: BenchSmtp, opts: ClusterOptions): Promise<void> {
  progress(B, `${label}: ${opts.alerts} alerts, ${opts.concurrency} senders`);
  const t0 = performance.now();
  const { ids, seconds, retried, answers } = await burst(mailers, opts.alerts, opts.concurrency);
  const at = await delivered(smtp, ids, 300_000);
  const last = Math.max(...at);
  figures.add(B, `${label}: durable intake`, `${(opts.alerts / seconds).toFixed(0)} alerts/s`, undefined, `${opts.alerts} alerts, ${opts.concurrency} senders over ${mailers.length} mailer(s)${retried ? `; ${retried} retried at another mailer (answers: ${JSON.stringify(Object.fromEntries(answers))})` : ''}`);
  figures.add(B, `${label}: deliveries`, `${(opts.alerts / ((last - t0) / 1000)).toFixed(0)} alerts/s`, undefined, `from the first POST to the last alert accepted by the SMTP server (${ms(last - t0, 0)})`);
}

export async function cluster(figures: Figures, opts: ClusterOptions): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-cluster-'));
  const removeWork = defer(`remove ${work}`, () => rmSync(work, { recursive: true, force: true }));
  try {
    const smtp = await startSmtp();
    progress(B, 'one mailer on SQLite');
    const single = await startMailer('mailer-sqlite', join(work, 'store'), smtp.port);
    await throughput(figures, 'one mailer, SQLite', [single], smtp, opts);
    await single.proc.stop();

    progress(B, `starting Postgres and ${MAILERS} mailers on it`);
    const postgres = await startPostgres();
    await postgres.createDatabase('cluster');
    const store = postgres.url('cluster');
    const mailers: BenchMailer[] = [];
    for (let i = 1; i <= MAILERS; i++) mailers.push(await startMailer(`mailer-pg-${i}`, store, smtp.port));
    await throughput(figures, `${MAILERS} mailers, one Postgres`, mailers, smtp, opts);

    const failovers: number[] = [];
    const takeovers: number[] = [];
    for (let t = 0; t < opts.trials; t++) {
      const k = t % MAILERS;
      progress(B, `failover ${t + 1}/${opts.trials}: SIGKILL of mailer-pg-${k + 1} holding ${FAILOVER_ALERTS} undelivered alerts`);
      smtp.hold();
      const { ids } = await burst([mailers[k]!], FAILOVER_ALERTS, 5);
      const killedAt = performance.now();
      mailers[k]!.proc.child.kill('SIGKILL');
      await mailers[k]!.proc.exited;
      smtp.release();
      const at = await delivered(smtp, ids, 60_000);
      failovers.push(Math.min(...at) - killedAt);
      const taken = mailers.filter((_, i) => i !== k).flatMap((m) => m.proc.out.lines.filter((l) => l.at > killedAt && /took over \d+ unfinished/.test(l.text)).map((l) => ({ who: m.proc.out.name, after: l.at - killedAt })));
      if (taken.length > 0) takeovers.push(Math.min(...taken.map((x) => x.after)));
      const by = taken.map((x) => `${x.who} ${ms(x.after, 0)}`);
      progress(B, `failover ${t + 1}: first delivered ${ms(Math.min(...at) - killedAt, 0)}, all ${FAILOVER_ALERTS} ${ms(Math.max(...at) - killedAt, 0)} after the SIGKILL; taken over by ${by.join(', ') || '?'}`);
      mailers[k] = await startMailer(`mailer-pg-${k + 1}`, store, smtp.port);
    }
    // A SIGKILL amid a burst with the SMTP server answering: the sends in flight at that moment are repeated by the adopter.
    progress(B, `SIGKILL of mailer-pg-1 amid a burst of ${opts.alerts} alerts, the SMTP server answering`);
    const before = smtp.accepted.length;
    const amid = await burst(mailers, opts.alerts, opts.concurrency, { count: Math.floor(opts.alerts / 2), then: () => mailers[0]!.proc.child.kill('SIGKILL') });
    await delivered(smtp, amid.ids, 120_000);
    const counts = new Map<string, number>();
    for (const a of smtp.accepted.slice(before)) counts.set(a.id, (counts.get(a.id) ?? 0) + 1);
    const amidRepeats = [...counts.values()].reduce((r, c) => r + c - 1, 0);
    figures.add(B, 'SIGKILL amid a burst: repeats', `${((amidRepeats / opts.alerts) * 100).toFixed(2)} %`, '<= 0.1 %', `${amidRepeats} of ${opts.alerts} alerts delivered twice (same id), the sends in flight at the kill; every alert delivered; ${amid.retried} posts resent at another mailer`);
    mailers[0] = await startMailer('mailer-pg-1', store, smtp.port);

    const f = stats(failovers);
    figures.add(B, 'failover p50 / p95', `${ms(f.p50, 0)} / ${ms(f.p95, 0)}`, 'p95 <= 5 s', `${opts.trials} SIGKILLs, each of a mailer holding ${FAILOVER_ALERTS} undelivered alerts: to the first of them delivered by another mailer; max ${ms(f.max, 0)}`);
    const c = stats(takeovers);
    figures.add(B, 'takeover p50 / p95', `${ms(c.p50, 0)} / ${ms(c.p95, 0)}`, undefined, `from the SIGKILL to another mailer's "took over" line (the lease, 3 s, and its next scan); the failover is this and one send`);
    const seen = new Map<string, number>();
    for (const a of smtp.accepted) seen.set(a.id, (seen.get(a.id) ?? 0) + 1);
    const repeats = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    figures.add(B, 'duplicates', `${((repeats / Math.max(1, seen.size)) * 100).toFixed(2)} %`, '<= 0.1 %', `${repeats} repeats among ${seen.size} alerts delivered (every phase, both stores)`);
    for (const m of mailers) await m.proc.stop();
  } finally {
    await removeWork();
  }
}
