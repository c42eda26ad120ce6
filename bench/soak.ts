/**
 * soak (issue 4, false alerts): our agent, as a local process with its default
 * settings (the image's bundle and node flags), against a healthy but jittery local site that answers 200 after a
 * random 0-300 ms delay, for `minutes` (default 10). A local stand-in mailer counts
 * every POST /alerts. Goal: 0 alerts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAgentBundle, shippedAgent } from './agent-bundle.ts';
import { type Figures, progress, sleep, startProcess, stats, ms } from './lib.ts';
import { countingMailer, listenLocal } from './local-servers.ts';

export interface SoakOptions {
  minutes: number;
}

const B = 'soak';
const MAX_DELAY_MS = 300;

export async function soak(figures: Figures, opts: SoakOptions): Promise<void> {
  const delays: number[] = [];
  let requests = 0;
  const site = await listenLocal('jittery site', (req, res) => {
    requests++;
    const delay = Math.random() * MAX_DELAY_MS;
    delays.push(delay);
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>ch2 soak site</body></html>\n');
    }, delay);
  });
  const mailer = await countingMailer();
  const work = mkdtempSync(join(tmpdir(), 'ch2-bench-soak-'));
  const bundle = await buildAgentBundle(work);
  const agent = startProcess('agent', process.execPath, shippedAgent(bundle, ['--target', `${site.url}/`, '--mailer', mailer.url]), { keepLines: 2000 });
  let up = 0;
  let down = 0;
  const downReasons = new Map<string, number>();
  agent.out.onLine(({ text }) => {
    if (text.startsWith('System up.')) up++;
    else if (text.startsWith('System down')) {
      down++;
      downReasons.set(text, (downReasons.get(text) ?? 0) + 1);
    }
  });
  try {
    await agent.out.waitFor(/System up\./, 15_000);
    const totalMs = opts.minutes * 60_000;
    const t0 = performance.now();
    progress(B, `${opts.minutes} min against ${site.url}/ (0-${MAX_DELAY_MS} ms per answer); alerts counted at ${mailer.url}/alerts`);
    let nextReport = 60_000;
    while (performance.now() - t0 < totalMs) {
      if (agent.child.exitCode !== null) throw new Error(`the agent exited ${agent.child.exitCode}:\n${agent.out.tail()}`);
      await sleep(Math.min(1000, totalMs - (performance.now() - t0)));
      const elapsed = performance.now() - t0;
      if (elapsed >= nextReport) {
        progress(B, `${(elapsed / 60_000).toFixed(0)} min: ${up} good checks, ${down} failed, ${mailer.alerts.length} alerts`);
        nextReport += 60_000;
      }
    }
    const minutes = (performance.now() - t0) / 60_000;
    figures.add(B, `alerts in ${minutes.toFixed(1)} min`, String(mailer.alerts.length), '0');
    figures.add(B, 'checks done (good / failed)', `${up + down} (${up} / ${down})`);
    figures.add(B, 'requests the site served', String(requests));
    const d = stats(delays);
    figures.add(B, 'site delay p50 / max', `${ms(d.p50, 0)} / ${ms(d.max, 0)}`);
    if (downReasons.size) figures.note(B, `failed checks: ${JSON.stringify(Object.fromEntries(downReasons))}`);
    if (mailer.alerts.length) figures.note(B, `alerts: ${mailer.alerts.slice(0, 5).map((a) => a.body).join(' ')}`);
  } finally {
    await agent.stop();
    await mailer.close();
    await site.close();
    rmSync(work, { recursive: true, force: true });
  }
}
