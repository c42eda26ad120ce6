/**
 * The hub's quorum and its restarted witnesses on the images: several agents
 * watch one target name, `shop`, each through its own nginx (a config file
 * of one target, `name: shop`, mounted into each agent), so stopping an nginx
 * makes only its agent see the target down.
 *
 * (a) Two agents, the default quorum: both see shop down (one down alert);
 *     one is restarted and sees it up while the other still sees it down: no
 *     up is sent and the hub's target stays down; the other's recovery then
 *     gives exactly one up.
 * (b) `--quorum 2`, three agents: one down is silent; two give exactly one
 *     down (the hub's, naming both); fewer than two after that give exactly
 *     one up; the last agent's recovery sends nothing more.
 *
 * "Nothing is sent" is checked after the hub has its agent's word (its view in
 * GET /api/v1/status) and then two more reports of every agent (1 s apart).
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Cleanup, dockerOk, IMAGES, type LogBuffer, type Started, startMailer, startNetwork, startNginx, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';
import type { StartedNetwork } from './helpers.ts';

const TARGET = 'shop';
const SENDING = /Sending email: /;
const DOWN = /Sending email: .*(shop is down|The service is down)/;
const UP = /Sending email: .*(shop is up again|The service is back up)/;

interface Status {
  targets: Array<{ name: string; state: string; agents: Array<{ name: string; state: string }> }>;
  agents: Array<{ name: string; lastReportAt: string; state: string }>;
  incidents: Array<{ id: string; target: string; state: string }>;
}

const count = (logs: LogBuffer, re: RegExp, from = 0): number => (logs.text.slice(from).match(new RegExp(re.source, 'g')) ?? []).length;

/** The hub: its status API from the host (no token: readable), the waits the tests need. */
class Hub {
  readonly api: string;

  constructor(api: string) {
    this.api = api;
  }

  async status(): Promise<Status> {
    const r = await fetch(`${this.api}/api/v1/status`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(r.status, 200);
    return (await r.json()) as Status;
  }

  async target(): Promise<Status['targets'][number] | undefined> {
    return (await this.status()).targets.find((t) => t.name === TARGET);
  }

  /** Wait until the hub's view of shop from each of `agents` is `state` (and no other agent's view is listed when `only`). */
  async views(want: Record<string, string>, timeoutMs: number, only = false): Promise<void> {
    await waitUntil(`the hub's views of ${TARGET}: ${JSON.stringify(want)}`, async () => {
      const t = await this.target();
      if (!t) return undefined;
      const views = new Map(t.agents.map((a) => [a.name, a.state]));
      if (only && views.size !== Object.keys(want).length) return undefined;
      return Object.entries(want).every(([name, state]) => views.get(name) === state) ? true : undefined;
    }, timeoutMs);
  }

  /** Wait until the hub has taken n more reports from each of `agents` (their lastReportAt changed n times). */
  async reports(agents: readonly string[], n = 2): Promise<void> {
    const seen = new Map<string, Set<string>>(agents.map((a) => [a, new Set()]));
    await waitUntil(`${n} more reports of ${agents.join(', ')}`, async () => {
      for (const a of (await this.status()).agents) seen.get(a.name)?.add(a.lastReportAt);
      return [...seen.values()].every((s) => s.size >= n + 1) ? true : undefined;
    }, n * 1_000 + 3_000);
  }
}

describe('the hub quorum and restarted witnesses on the images', { timeout: 300_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  let dir: string | undefined;
  /** A config file naming one target `shop` at `url`, readable by the image's user. */
  const configFor = async (url: string): Promise<string> => {
    if (!dir) {
      const made = await mkdtemp(join(tmpdir(), 'ch2-quorum-'));
      dir = made;
      cleanup.defer('remove the agent config folder', () => rm(made, { recursive: true, force: true }));
    }
    const file = join(dir, `${new URL(url).hostname}.json`);
    await writeFile(file, JSON.stringify({ targets: [{ name: TARGET, url }] }));
    await chmod(file, 0o644);
    return file;
  };

  /** Its own nginx (alias web-<agent>) and an agent `name` watching it as shop, reporting every second; resolves once the hub has its report. */
  const startPair = async (net: StartedNetwork, mailer: Started, name: string): Promise<{ web: Started; agent: string }> => {
    const alias = `web-${name}`;
    const web = await startNginx(net, cleanup, alias);
    const config = await configFor(`http://${alias}:80/`);
    const agent = uniqueName(`agent-${name}`);
    cleanup.names(agent);
    const from = mailer.logs.mark();
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', agent, '--network', net.getName(),
      '-v', `${config}:/etc/ch2/agent.json:ro`,
      IMAGES.agent, '--config', '/etc/ch2/agent.json', '--agent-name', name, '--report-every', '1s',
    ]);
    await mailer.logs.waitFor(new RegExp(`agent ${name} reports `), 15_000, from);
    return { web, agent };
  };

  test('(a) two agents on shop, one restarted seeing it up while the other sees it down: no up, the target stays down; the other\'s recovery: one up', { timeout: 150_000 }, async () => {
    const net = await startNetwork(cleanup);
    const mailer = await startMailer(net, cleanup);
    const hub = new Hub(`http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`);
    const east = await startPair(net, mailer, 'east');
    const west = await startPair(net, mailer, 'west');
    await hub.views({ east: 'up', west: 'up' }, 10_000);
    const from = mailer.logs.mark();

    // Both see shop down: one down alert (the second joins the incident).
    await dockerOk(['stop', east.web.container.getId(), west.web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(DOWN, 15_000, from);
    await mailer.logs.waitFor(/held back from the channels: joins incident/, 15_000, from);
    await hub.views({ east: 'down', west: 'down' }, 5_000);
    assert.equal(count(mailer.logs, SENDING, from), 1, 'one down alert');

    // east is restarted (stopped: its goodbye; started again: a new instance under the
    // same --agent-name) and sees shop up; west still sees it down.
    await dockerOk(['stop', '-t', '10', east.agent], { timeoutMs: 20_000 });
    await hub.views({ west: 'down' }, 5_000, true);
    await dockerOk(['start', east.web.container.getId()], { timeoutMs: 20_000 });
    const restarted = mailer.logs.mark();
    await dockerOk(['start', east.agent], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/agent east restarted/, 15_000, restarted);
    await hub.views({ east: 'up', west: 'down' }, 10_000);
    await hub.reports(['east', 'west']);
    assert.equal(count(mailer.logs, UP, from), 0, `no up while west sees shop down:\n${mailer.logs.tail()}`);
    assert.equal(count(mailer.logs, SENDING, from), 1, 'nothing else sent');
    const status = await hub.status();
    assert.equal(status.targets.find((t) => t.name === TARGET)?.state, 'down', 'the hub\'s target stays down');
    assert.equal(status.incidents.filter((i) => i.target === TARGET && i.state === 'open').length, 1, 'its incident stays open');

    // west sees it up again: the incident ends with exactly one up.
    await dockerOk(['start', west.web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(UP, 15_000, from);
    await hub.views({ east: 'up', west: 'up' }, 5_000);
    await hub.reports(['east', 'west']);
    assert.equal(count(mailer.logs, UP, from), 1, 'one up');
    assert.equal(count(mailer.logs, SENDING, from), 2, 'one down and one up in all');
    assert.equal((await hub.target())?.state, 'up');
  });

  test('(b) --quorum 2, three agents on shop: one down is silent, two give one down, fewer than two give one up', { timeout: 150_000 }, async () => {
    const net = await startNetwork(cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--quorum', '2'] });
    const hub = new Hub(`http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`);
    const a1 = await startPair(net, mailer, 'a1');
    const a2 = await startPair(net, mailer, 'a2');
    await startPair(net, mailer, 'a3');
    const all = ['a1', 'a2', 'a3'];
    await hub.views({ a1: 'up', a2: 'up', a3: 'up' }, 10_000);
    const from = mailer.logs.mark();

    // One agent sees shop down: nothing sent, the target is not down.
    await dockerOk(['stop', a1.web.container.getId()], { timeoutMs: 20_000 });
    await hub.views({ a1: 'down', a2: 'up', a3: 'up' }, 15_000);
    await hub.reports(all);
    assert.equal(count(mailer.logs, SENDING, from), 0, `one agent of three sees it down, quorum 2: nothing sent:\n${mailer.logs.tail()}`);
    assert.equal((await hub.target())?.state, 'up', 'one down is below the quorum');

    // Two do: exactly one down, the hub's, naming both.
    await dockerOk(['stop', a2.web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: .*shop is down \(agents (a1, a2|a2, a1) see it down; quorum 2\)\./m, 15_000, from);
    await hub.views({ a1: 'down', a2: 'down', a3: 'up' }, 5_000);
    await hub.reports(all);
    assert.equal(count(mailer.logs, DOWN, from), 1, 'one down');
    assert.equal(count(mailer.logs, SENDING, from), 1, 'nothing else sent');
    assert.equal((await hub.target())?.state, 'down');

    // a1 recovers: one of three sees it down, fewer than two: exactly one up.
    await dockerOk(['start', a1.web.container.getId()], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: .*shop is up again \(agent a1 reports it up\)\./m, 15_000, from);
    await hub.views({ a1: 'up', a2: 'down', a3: 'up' }, 5_000);
    await hub.reports(all);
    assert.equal(count(mailer.logs, UP, from), 1, 'one up');
    assert.equal(count(mailer.logs, SENDING, from), 2, 'one down and one up');
    assert.equal((await hub.target())?.state, 'up');

    // a2 recovers too: its down was never told, nor is its up.
    await dockerOk(['start', a2.web.container.getId()], { timeoutMs: 20_000 });
    await hub.views({ a1: 'up', a2: 'up', a3: 'up' }, 15_000);
    await hub.reports(all);
    assert.equal(count(mailer.logs, SENDING, from), 2, `a2's up is not sent:\n${mailer.logs.tail()}`);
  });
});
