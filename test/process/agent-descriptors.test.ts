/**
 * The agent bundle at its open-file limit (review P1-11): 1,000 targets on a
 * healthy local site under `ulimit -n 256`, with a fake mailer that records
 * what it is sent. Descriptors running out must never become down alerts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { configFiles } from '../support/config-files.ts';
import { Receiver } from '../support/http-receiver.ts';
import { start } from '../support/process.ts';

const TARGETS = 1000;
const OPEN_FILES = 256;
const files = configFiles('ch2-descriptors-');
const mailer = new Receiver();

/** A healthy site that answers every path after `delayMs`, counting the checks of each. */
class Site {
  readonly hits = new Map<string, number>();
  total = 0;
  delayMs = 0;
  #changed: (() => void) | undefined;
  readonly server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    setTimeout(() => {
      res.end('ok');
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      this.total += 1;
      this.#changed?.();
    }, this.delayMs);
  });

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(delayMs: number): void {
    this.hits.clear();
    this.total = 0;
    this.delayMs = delayMs;
  }

  /** Resolves when `ready()` holds (tested at each answer), rejects at once when `failed()` says why, or after `ms`. */
  until(ready: () => boolean, failed: () => string | undefined, what: string, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`no ${what} within ${ms}ms (${this.total} checks answered)`)), ms);
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        this.#changed = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.#changed = (): void => {
        const why = failed();
        if (why !== undefined) settle(new Error(why));
        else if (ready()) settle();
      };
    });
  }
}
const site = new Site();

before(async () => {
  await mailer.listen();
  await new Promise<void>((resolve) => site.server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await mailer.close();
  site.server.closeAllConnections();
  await new Promise<void>((resolve) => site.server.close(() => resolve()));
});

function thousandTargets(): string {
  const targets = Array.from({ length: TARGETS }, (_, i) => ({ name: `t${i}`, url: `${site.base}/t${i}` }));
  return files.file(JSON.stringify({ defaults: { interval: '1s' }, targets }));
}

/** The first line that says a check failed or a target is down: none may come from a healthy site. */
const falseAlarm = (output: string): string | undefined => /^.*(?:check failed|is down).*$/m.exec(output)?.[0];

test(`ulimit -n ${OPEN_FILES}, ${TARGETS} targets on a healthy site at 500 ms: every target checked 3 times, no check fails, no down alert; one line says how many checks run at once`, async () => {
  site.reset(500);
  mailer.reset();
  const agent = start('agent', ['--config', thousandTargets(), '--mailer', mailer.base], {}, { openFiles: OPEN_FILES });
  try {
    // 500 connections at once would be needed; 192 checks at a time make about 380 a second.
    await site.until(
      () => site.hits.size === TARGETS && [...site.hits.values()].every((n) => n >= 3),
      () => {
        const line = falseAlarm(agent.output());
        return line === undefined ? undefined : `a healthy site failed: ${line}`;
      },
      'third check of every target',
      20_000,
    );
    assert.equal(falseAlarm(agent.output()), undefined);
    assert.deepEqual(mailer.hits.filter((h) => h.path === '/alerts').map((h) => h.body), [], 'no alert sent');
    const lines = agent.output().match(/^The open-file limit is .*$/gm) ?? [];
    assert.deepEqual(lines, [
      `The open-file limit is ${OPEN_FILES}: 192 checks at a time (64 descriptors kept for the agent itself), where the ${TARGETS} targets could use ${TARGETS} connections at once; ` +
        'the other checks wait their turn and may start late. To check every target on time: docker run --ulimit nofile=1064.',
    ]);
  } finally {
    await agent.stop();
  }
});

test('descriptors taken by something else: a check that finds none is skipped, not failed; one warning line, no down alert', async () => {
  site.reset(50);
  mailer.reset();
  // 200 descriptors open from the start leave about 30 of the 192 the agent counts on, where
  // checks of 50 ms at 1,000 a second want about 50. (No /metrics here: its scrape finds no
  // descriptor either; test/unit/metrics.test.ts has the counter.)
  const agent = start('agent', ['--config', thousandTargets(), '--mailer', mailer.base], {}, { openFiles: OPEN_FILES, extraFds: 200 });
  try {
    await site.until(
      () => site.total >= 3 * TARGETS,
      () => {
        const line = falseAlarm(agent.output());
        return line === undefined ? undefined : `a healthy site failed: ${line}`;
      },
      `${3 * TARGETS} checks`,
      20_000,
    );
    assert.equal(falseAlarm(agent.output()), undefined);
    assert.deepEqual(mailer.hits.filter((h) => h.path === '/alerts').map((h) => h.body), [], 'no alert sent');
    const warnings = agent.output().match(/^No file descriptor free.*$/gm) ?? [];
    assert.deepEqual(warnings, [
      'No file descriptor free (EMFILE/ENFILE): 1 check skipped so far. A skipped check is neither a failure nor a success; ' +
        `its target is checked again at its next interval. Raise the open-file limit (${OPEN_FILES}): docker run --ulimit nofile=1064.`,
    ]);
  } finally {
    await agent.stop();
  }
});
