/**
 * detection (issue 4): how long from `docker stop web` to the mailer's
 * "Sending email" line, ours (ch2/agent + ch2/mailer) against the book's
 * stand-ins (ch2/book-agent + ch2/book-mailer, busybox scripts), side by side,
 * trials interleaved (ours, book, ours, book, ...).
 *
 * Each trial runs the tutorial's three containers with the docker CLI on the default
 * bridge, the agent linked with `--link web:insideweb --link mailer:insidemailer`,
 * waits for the agent's first "System up.", then times from just before
 * `docker stop web` to the arrival of the mailer's `Sending email` line on a
 * `docker logs -f` follower. Goal: ours p95 <= 0.5 s.
 */
import { BENCH_LABEL, isAborted, dockerOk, type Figures, haveImage, Lines, ms, progress, randomTag, removeContainers, startProcess, stats, defer } from './lib.ts';

export interface DetectionOptions {
  trials: number;
}

const B = 'detection';
const IMAGES = {
  web: 'nginx:latest',
  ours: { agent: 'ch2/agent:latest', mailer: 'ch2/mailer:latest' },
  book: { agent: 'ch2/book-agent:latest', mailer: 'ch2/book-mailer:latest' },
} as const;
type Side = 'ours' | 'book';

const MAILER_STARTED = /CH2 Example Mailer has started\./;
const SYSTEM_UP = /System up\./;
const SENDING = /Sending email/;

/** `docker logs -f NAME` into timestamped lines; stopped by cleanup. */
function follow(name: string): { lines: Lines; stop: () => Promise<void> } {
  const p = startProcess(`docker logs -f ${name}`, 'docker', ['logs', '-f', name]);
  return { lines: p.out, stop: () => p.stop(2000) };
}

interface Trial {
  ms: number;
  stopMs: number;
}

async function trial(side: Side, n: number): Promise<Trial> {
  const tag = `ch2-bench-${randomTag()}`;
  const web = `${tag}-web`;
  const mailer = `${tag}-mailer`;
  const agent = `${tag}-agent`;
  const remove = defer(`docker rm -f ${agent} ${mailer} ${web}`, () => removeContainers(agent, mailer, web));
  const followers: (() => Promise<void>)[] = [];
  try {
    const images = IMAGES[side];
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', web, IMAGES.web]);
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', mailer, images.mailer]);
    const m = follow(mailer);
    followers.push(m.stop);
    await m.lines.waitFor(MAILER_STARTED, 20_000);
    await dockerOk(['run', '-d', '--label', BENCH_LABEL, '--name', agent, '--link', `${web}:insideweb`, '--link', `${mailer}:insidemailer`, images.agent]);
    const a = follow(agent);
    followers.push(a.stop);
    await a.lines.waitFor(SYSTEM_UP, 20_000);
    if (m.lines.find(SENDING)) throw new Error(`${side}: the mailer logged an alert before docker stop`);

    const from = m.lines.total;
    const t0 = performance.now();
    const stop = dockerOk(['stop', web], 30_000);
    const seen = await m.lines.waitFor(SENDING, 20_000, from);
    const stopped = await stop;
    const result = { ms: seen.at - t0, stopMs: stopped.ms };
    progress(B, `trial ${n} ${side}: ${result.ms.toFixed(0)} ms to "Sending email" (docker stop took ${result.stopMs.toFixed(0)} ms)`);
    return result;
  } finally {
    for (const f of followers) await f();
    await remove();
  }
}

export async function detection(figures: Figures, opts: DetectionOptions): Promise<void> {
  const missing: string[] = [];
  for (const image of [IMAGES.web, IMAGES.ours.agent, IMAGES.ours.mailer, IMAGES.book.agent, IMAGES.book.mailer]) {
    if (!(await haveImage(image))) missing.push(image);
  }
  if (missing.length) {
    figures.add(B, 'skipped', `missing images: ${missing.join(', ')} (npm run images)`);
    return;
  }
  const results: Record<Side, Trial[]> = { ours: [], book: [] };
  const errors: string[] = [];
  for (let i = 1; i <= opts.trials; i++) {
    for (const side of ['ours', 'book'] as const) {
      try {
        results[side].push(await trial(side, i));
      } catch (err) {
        if (isAborted()) throw err;
        const msg = (err as Error).message.split('\n')[0] ?? String(err);
        errors.push(`${side} trial ${i}: ${msg}`);
        progress(B, `trial ${i} ${side} failed: ${(err as Error).message}`);
        // A broken setup fails every trial: stop after three failures.
        if (errors.length >= 3) throw new Error(`3 trials failed; the first: ${errors[0]}`);
      }
    }
  }
  const s = { ours: stats(results.ours.map((r) => r.ms)), book: stats(results.book.map((r) => r.ms)) };
  for (const side of ['ours', 'book'] as const) {
    const label = side === 'ours' ? 'ours (ch2/agent + ch2/mailer)' : "book's stand-ins (busybox)";
    const goal = side === 'ours' ? 'p95 <= 500 ms' : undefined;
    figures.add(B, `${label}: p50`, ms(s[side].p50, 0));
    figures.add(B, `${label}: p95`, ms(s[side].p95, 0), goal);
    figures.add(B, `${label}: min / max`, `${ms(s[side].min, 0)} / ${ms(s[side].max, 0)}`, undefined, `${s[side].n} trials`);
  }
  figures.add(B, 'ratio book / ours, p50', `${(s.book.p50 / s.ours.p50).toFixed(1)} x`);
  figures.add(B, 'ratio book / ours, p95', `${(s.book.p95 / s.ours.p95).toFixed(1)} x`);
  const stopMs = stats([...results.ours, ...results.book].map((r) => r.stopMs));
  figures.note(B, `timed from just before \`docker stop web\` to the line's arrival on \`docker logs -f\`; docker stop itself took p50 ${stopMs.p50.toFixed(0)} ms`);
  if (errors.length) figures.note(B, `failed trials: ${errors.join('; ')}`);
}
