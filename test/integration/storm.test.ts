/**
 * An alert storm on the images: 200 targets on one origin (nginx, alias
 * insideweb) go down at once. The agent (a --config file of 200 targets
 * http://insideweb:80/?n=<i> named web-<i>) tells the mailer; the mailer has
 * the log channel and a Slack channel (`--notify slack://hook:…@webhook?api=…`)
 * whose webhook is ch2/smtp-sink's receiver (alias sink), the Slack fake.
 *
 * - the log still has one `Sending email` line per alert: 200;
 * - the Slack fake gets a handful of grouped messages (grouper.ts: at most 50
 *   alerts a message) whose titles together name each of web-1 … web-200
 *   exactly once;
 * - the first arrives within a few seconds of the first `Sending email` line
 *   (--group-wait is 1 s);
 * - never faster than Slack's one message a second per webhook (rate-gate.ts:
 *   a token bucket that starts full with one token).
 *
 * The figures (message count, sizes, gaps) are printed. The agent is told the
 * mailer by name, insidemailer: its lookups of the vanished insideweb (200 a
 * second) once starved that lookup until every POST timed out; they are now
 * shared (agent/lookup.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import { follow } from './book-links.ts';
import {
  Cleanup,
  dockerOk,
  http,
  IMAGES,
  type LogBuffer,
  startMailer,
  startNetwork,
  startNginx,
  startSmtpSink,
  TEST_LABEL,
  uniqueName,
  waitUntil,
  type Started,
  type StartedNetwork,
} from './helpers.ts';

const TARGETS = 200;
const NAMES = Array.from({ length: TARGETS }, (_, i) => `web-${i + 1}`);
/** `api=` sends the Slack posts to the sink: <api>/services/T0/B0/X0. */
const SLACK_URL = 'slack://hook:T0-B0-X0@webhook?api=http://sink:8025/hooks/storm';
const SLACK_HOOK = 'storm/services/T0/B0/X0';
const SENDING = /Sending email: To: admin@work Message: The service is down!/;
/** The most Slack messages a storm of 200 may take: 4 full groups of 50, and a few for stragglers. */
const MAX_MESSAGES = 10;
const FIRST_WITHIN_MS = 5_000;
/** Slack's 1 message/s per webhook, less timer and clock granularity. */
const MIN_GAP_MS = 900;

/** The targets a Slack message's title names: `[DOWN] 50 targets: web-1, web-2, … — The service is down!` or `[DOWN] web-7 — …`. */
function downTargets(text: string): string[] {
  const title = text.split('\n')[0] ?? '';
  const group = /^\[DOWN\] (\d+) targets?: (.*) — The service is down!$/.exec(title);
  if (group) {
    const names = group[2]!.split(', ');
    assert.equal(names.length, Number(group[1]), `the title counts the targets it names: ${title}`);
    return names;
  }
  const one = /^\[DOWN\] (\S+) — The service is down!$/.exec(title);
  assert.ok(one, `a Slack message that is not a down alert: ${title}`);
  return [one[1]!];
}

describe('an alert storm: 200 targets down at once', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let web: Started;
  let mailer: Started;
  let sinkApi: string;
  let agentLogs: LogBuffer;

  let net: StartedNetwork;
  let config: string;

  /** An agent on the 200 targets (their config file mounted), telling the mailer at `mailerAddress`; resolves once it has started. */
  const runAgent = async (mailerAddress: string, extra: string[] = []): Promise<{ name: string; logs: LogBuffer }> => {
    const name = uniqueName('agent');
    cleanup.names(name);
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', name, '--network', net.getName(),
      '-v', `${config}:/etc/ch2/agent.json:ro`,
      IMAGES.agent, '--config', '/etc/ch2/agent.json', '--mailer', mailerAddress, '--view', 'lines', '--log-level', 'debug', ...extra,
    ]);
    const logs = follow(cleanup, name, 'agent');
    await logs.waitFor(new RegExp(`^Watching ${TARGETS} targets; alerts go to `, 'm'), 20_000);
    return { name, logs };
  };

  before(async () => {
    net = await startNetwork(cleanup);
    web = await startNginx(net, cleanup);
    sinkApi = (await startSmtpSink(net, cleanup, 'sink')).api;
    mailer = await startMailer(net, cleanup, { args: ['--notify', SLACK_URL] });

    const dir = await mkdtemp(join(tmpdir(), 'ch2-storm-'));
    cleanup.defer('remove the agent config folder', () => rm(dir, { recursive: true, force: true }));
    config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({ targets: NAMES.map((name, i) => ({ name, url: `http://insideweb:80/?n=${i + 1}` })) }));
    await chmod(config, 0o644); // the image's user reads it
    const agent = await runAgent('insidemailer:33333');
    agentLogs = agent.logs;
    // Every target up: a debug line per good check, "web-17: up (HTTP 200, 2 ms)".
    await agentLogs.until(`all ${TARGETS} targets up`, () => {
      const up = new Set([...agentLogs.text.matchAll(/^(web-\d+): up \(HTTP 200, /gm)].map((m) => m[1]));
      return up.size === TARGETS ? true : undefined;
    }, 30_000);
  }, { timeout: 120_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('200 lines in the log; a handful of Slack messages naming all 200, the first within seconds, at most one a second', { timeout: 90_000 }, async () => {
    const from = mailer.logs.mark();
    const firstLine = mailer.logs.waitFor(SENDING, 30_000, from);
    await dockerOk(['stop', web.container.getId()], { timeoutMs: 20_000 });

    // (a) the book's line for every alert.
    const { at: firstSendingAt } = await firstLine;
    await mailer.logs.waitForCount(SENDING, TARGETS, 30_000, from);

    // (b) the Slack messages, until they name every target.
    const slack = async (): Promise<StoredHook[]> => {
      const r = await http('GET', `${sinkApi}/hooks`);
      assert.equal(r.status, 200);
      return (r.json as StoredHook[]).filter((h) => h.name === SLACK_HOOK).sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
    };
    const messages = await waitUntil('Slack messages naming all 200 targets', async () => {
      const hooks = await slack();
      const named = new Set(hooks.flatMap((h) => downTargets((h.json as { text: string }).text)));
      return named.size >= TARGETS ? hooks : undefined;
    }, 45_000, 250);
    // Nothing still on its way (a duplicate would come now): no delivery under way in the mailer.
    await waitUntil('no deliveries active in the mailer', async () => {
      const h = await http('GET', `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}/healthz`);
      return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
    }, 15_000, 200);
    const final = await slack();
    assert.equal(final.length, messages.length, 'no Slack message after the ones naming every target');
    assert.equal(mailer.logs.count(SENDING, from), TARGETS, 'exactly one Sending email line per target');

    const perMessage = final.map((h) => {
      assert.equal(h.method, 'POST');
      assert.equal(h.status, 200);
      return downTargets((h.json as { text: string }).text);
    });
    const named = perMessage.flat();
    assert.deepEqual([...named].sort(), [...NAMES].sort(), 'the down messages name each of web-1 … web-200 exactly once');

    const times = final.map((h) => Date.parse(h.receivedAt));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const firstAfterMs = times[0]! - firstSendingAt;
    console.log(`  storm: ${final.length} Slack messages of ${perMessage.map((m) => m.length).join(', ')} targets; the first ${firstAfterMs} ms after the first Sending email line; gaps ${gaps.join(', ')} ms`);

    // (c) a handful of messages, (d) the first soon, (e) at most one a second.
    assert.ok(final.length <= MAX_MESSAGES, `${final.length} Slack messages for one storm (at most ${MAX_MESSAGES})`);
    assert.ok(firstAfterMs <= FIRST_WITHIN_MS, `the first Slack message came ${firstAfterMs} ms after the first Sending email line (at most ${FIRST_WITHIN_MS})`);
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= MIN_GAP_MS, `Slack messages ${i + 1} and ${i + 2} only ${gap} ms apart (Slack allows one a second)`);
  });
});
