/**
 * docker/stack.yaml on a single-node swarm, deployed as the README's "Docker Swarm" says:
 *   docker stack deploy -c docker/stack.yaml -c test/integration/stack-sink.yaml <unique name>
 * (the README's command under a unique stack name; the second file only adds an SMTP sink
 * and points the mailers' SMTP_URL at it, for the kill test), with secrets of its own in a
 * temporary folder named by CH2_SECRETS, as the README says to replace the demo ones. The engine must be a swarm
 * manager: when it is in no swarm the test inits one (on 127.0.0.1) and leaves it in after();
 * a swarm it did not make it uses and leaves alone.
 *
 * Swarm's virtual IPs and routing mesh need the kernel's IPVS. Where the kernel has none
 * (CONFIG_IP_VS unset, as on this project's CI machine: a service's name then reaches
 * nothing and a published port answers nothing), the test deploys what `docker stack config`
 * renders from the same two files with two changes to the mailer and sink services only, the
 * README's advice for such kernels: `endpoint_mode: dnsrr` (the agents' `mailer:33333` gives
 * the replicas' own addresses) and their ports published in `mode: host`, each replica on a
 * port of its own (found with `docker port`). It says which way it ran. The swarm and the
 * stack's plumbing (deploy, tasks, entrances, removal) are in swarm.ts.
 *
 * 1. Every service comes up running and healthy (polling `docker ps` of the stack's task
 *    containers, with a deadline): postgres, web, 3 agents, the sink, and both mailers,
 *    active at once on one Postgres. Published, the hub's API answers 401 without the token
 *    and 200 with it.
 * 2. Each target of docker/stack/agent.yaml is watched by exactly one agent, the one whose
 *    shard rendezvous hashing gives it (agent/shard.ts), named agent-<slot>. Each mailer
 *    keeps its own hub in memory and an agent reports to whichever replica `mailer` gives
 *    it, so the test asks every healthy mailer (docker exec, on its loopback, with the
 *    token) and takes the union.
 * 3. 500 alerts are posted to the published port(s) by 20 senders that resend what got no
 *    202 with the same id (to the next mailer, as the agent fails over along its list), and
 *    the container of one healthy mailer task is `docker kill`ed amid them. Every 202
 *    reaches the SMTP sink, a repeat only with the same Message-ID; the failover time (the
 *    longest an alert waited from its first failure after the kill to its 202) is printed,
 *    and Swarm replaces the killed task; the other active mailer goes on, and takes over
 *    the killed one's unfinished deliveries when its claims lapse.
 * after(): `docker stack rm`, waiting until the stack's containers and network are gone,
 * then its volumes (pgdata, the mailers' store folders), and `docker swarm leave --force`
 * only if the test made the swarm.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../support/process.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseShard, shardOf, shareOf } from '../../agent/shard.ts';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import { ROOT } from '../support/readme.ts';
import { Cleanup, docker, dockerOk, randomId, waitUntil } from './helpers.ts';
import { joinSwarm, Stack, type Task } from './swarm.ts';

const STACK_FILE = 'docker/stack.yaml';
const SINK_FILE = 'test/integration/stack-sink.yaml';
const TAG = process.env.CH2_IMAGE_TAG || 'latest';
/** The test's own secrets (CH2_SECRETS, as the README says to replace the demo ones): a fresh token and Postgres password. */
const TOKEN = `stack-test-${randomBytes(12).toString('hex')}`;
const PG_PASSWORD = randomBytes(12).toString('hex');
const TARGETS = (parse(readFileSync(join(ROOT, 'docker/stack/agent.yaml'), 'utf8')) as { targets: Array<{ name: string }> }).targets.map((t) => t.name);
const AGENTS = 3;
const TOTAL = 500;
const SENDERS = 20;
const MAILER_PORT = 33333;
const SINK_PORT = 8025;


describe('docker/stack.yaml on a single-node swarm', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  const stack = new Stack(`ch2it${randomId()}`, ROOT);
  const hostPorts = { mailer: 0, sink: 0 };
  const tasks = (): Promise<Task[]> => stack.tasks();
  const healthy = Stack.healthy;
  /** Where the host reaches the published port of the mailers or the sink, each with the task behind it (none with the mesh). */
  const entrancesOf = (service: 'mailer' | 'sink'): Promise<Array<{ url: string; task?: Task }>> =>
    stack.entrances(service, service === 'mailer' ? MAILER_PORT : SINK_PORT, hostPorts[service]);
  const entrances = async (service: 'mailer' | 'sink'): Promise<string[]> => (await entrancesOf(service)).map((e) => e.url);
  /** GET a hub path inside a mailer container, on its loopback, with the token. */
  const askMailer = async (id: string, path: string): Promise<unknown> => {
    const r = await dockerOk(['exec', id, 'wget', '-q', '-O', '-', '--header', `Authorization: Bearer ${TOKEN}`, `http://127.0.0.1:${MAILER_PORT}${path}`]);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    // The README's command, which this test runs with its own stack name and the sink's file.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(`\n${['docker', 'stack', 'deploy', '-c', STACK_FILE, 'ch2'].join(' ')}\n`), "README.md's Docker Swarm section deploys with the command this test runs");
    const madeSwarm = await joinSwarm(cleanup);
    hostPorts.mailer = await freePort();
    hostPorts.sink = await freePort();
    const secrets = mkdtempSync(join(tmpdir(), 'ch2-stack-secrets-'));
    cleanup.defer(`rm -r ${secrets}`, () => rmSync(secrets, { recursive: true, force: true }));
    writeFileSync(join(secrets, 'mailer-token'), `${TOKEN}\n`);
    writeFileSync(join(secrets, 'postgres-password'), `${PG_PASSWORD}\n`);
    writeFileSync(join(secrets, 'store-url'), `postgres://ch2:${PG_PASSWORD}@postgres:5432/ch2\n`);
    await stack.deploy([STACK_FILE, SINK_FILE], {
      CH2_IMAGE_TAG: TAG, CH2_SECRETS: secrets, CH2_MAILER_PORT: String(hostPorts.mailer), CH2_SINK_PORT: String(hostPorts.sink),
    }, cleanup);
    console.log(`  stack ${stack.name}: ${stack.mesh ? 'as the files say (virtual IPs, routing mesh)' : 'no IPVS in this kernel: mailer and sink with endpoint_mode dnsrr, ports in mode host'}${madeSwarm ? '; on a swarm the test made' : ''}`);
  }, { timeout: 90_000 });

  after(() => cleanup.run(), { timeout: 120_000 });

  test('every service running and healthy: postgres, web, 3 agents, the sink and both mailers, active at once on one Postgres', { timeout: 90_000 }, async () => {
    const t0 = Date.now();
    let mailers = '';
    await waitUntil('every service of the stack running and healthy', async () => {
      const all = await tasks();
      for (const [service, n] of [['postgres', 1], ['web', 1], ['agent', AGENTS], ['sink', 1]] as const) {
        if (healthy(all, service).length !== n) return undefined;
      }
      if (healthy(all, 'mailer').length !== 2) return undefined;
      const exited = all.filter((t) => t.service === 'mailer' && /^Exited/.test(t.status));
      mailers = `2 mailers healthy${exited.length > 0 ? `; ${exited.length} mailer task(s) exited before` : ''}`;
      return true;
    }, 80_000, 500);
    console.log(`  healthy ${Date.now() - t0} ms after the deploy; ${mailers}`);
    const urls = await entrances('mailer');
    assert.ok(urls.length > 0, 'a published port');
    for (const url of urls) {
      assert.equal((await fetch(`${url}/api/v1/status`, { signal: AbortSignal.timeout(3_000) })).status, 401, `${url}: no status without the token`);
      assert.equal((await fetch(`${url}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(3_000) })).status, 200, `${url}: the status with the token`);
    }
  });

  test('each target of docker/stack/agent.yaml is watched by exactly one agent, the one of its shard (the hubs of all mailers)', { timeout: 40_000 }, async () => {
    const owner = new Map<string, string>();
    for (let slot = 1; slot <= AGENTS; slot++) {
      const shard = shardOf(parseShard(`${slot}/${AGENTS}`), undefined)!;
      for (const t of shareOf(TARGETS.map((name) => ({ name })), shard)) owner.set(t.name, `agent-${slot}`);
    }
    assert.equal(owner.size, TARGETS.length);
    const t0 = Date.now();
    const seen = await waitUntil('every target in the hubs, each with its agent', async () => {
      const union = new Map<string, Set<string>>();
      for (const m of healthy(await tasks(), 'mailer')) {
        const status = (await askMailer(m.id, '/api/v1/status')) as { targets: Array<{ name: string; agents: Array<{ name: string }> }> };
        for (const t of status.targets) {
          const set = union.get(t.name) ?? new Set<string>();
          for (const a of t.agents) set.add(a.name);
          union.set(t.name, set);
        }
      }
      return TARGETS.every((name) => (union.get(name)?.size ?? 0) > 0) ? union : undefined;
    }, 30_000, 500);
    assert.deepEqual([...seen.keys()].sort(), [...TARGETS].sort(), "the hubs know the config's targets and no other");
    for (const name of TARGETS) {
      assert.deepEqual([...seen.get(name)!], [owner.get(name)], `${name}: watched by exactly one agent, its shard's`);
    }
    const perAgent = [...owner.values()].reduce((m, a) => m.set(a, (m.get(a) ?? 0) + 1), new Map<string, number>());
    console.log(`  every target in the hubs ${Date.now() - t0} ms after the stack was healthy; ${[...perAgent].sort().map(([a, n]) => `${a} ${n}`).join(', ')}`);
  });

  test('docker kill of a mailer amid 500 alerts to the published port: every 202 delivered, a repeat only with the same Message-ID', { timeout: 120_000 }, async () => {
    // The mailer the senders post to first (with the mesh, any: it spreads them over both).
    const victim = (await entrancesOf('mailer'))[0]?.task ?? healthy(await tasks(), 'mailer')[0];
    assert.ok(victim, 'a healthy mailer');
    const [sink] = await entrances('sink');
    assert.ok(sink, 'the sink published');
    await fetch(`${sink}/messages`, { method: 'DELETE' });
    const ids: string[] = Array.from({ length: TOTAL }, () => randomUUID());
    const acked = new Set<string>();
    let killedAt = 0;
    let urls = await entrances('mailer');
    // A failed post looks for the mailers again (once at a time), as the agent's next try resolves `mailer` again.
    let refreshing: Promise<void> | undefined;
    const refresh = (): Promise<void> => (refreshing ??= entrances('mailer').then((found) => {
      if (found.length > 0) urls = found;
    }).finally(() => (refreshing = undefined)));
    const postTo = async (url: string, id: string): Promise<boolean> => {
      try {
        const r = await fetch(`${url}/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({ id, to: 'admin@work', message: `stack kill test ${id}`, target: 'stack-kill' }),
          signal: AbortSignal.timeout(3_000),
        });
        await r.arrayBuffer();
        return r.status === 202;
      } catch {
        return false;
      }
    };
    // The agent's way: the first mailer of the list that takes it; else the same id again a little later.
    // `mark.failedAt`: when its first attempt that failed after the kill began (a refused or reset
    // connection, or one that timed out), the start of its failover. A mailer that failed goes to
    // the end of the list, as the agent passes over a failing mailer.
    const post = async (id: string, mark: { failedAt: number }): Promise<boolean> => {
      for (const url of [...urls]) {
        const t = Date.now();
        if (await postTo(url, id)) return true;
        if (killedAt && !mark.failedAt) mark.failedAt = t;
        if (urls.includes(url)) urls = [...urls.filter((u) => u !== url), url];
      }
      await refresh();
      return false;
    };
    let kill: Promise<unknown> | undefined;
    const waits: number[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: SENDERS }, async () => {
      while (next < TOTAL) {
        const id = ids[next++]!;
        const mark = { failedAt: 0 };
        for (let attempt = 0; !(await post(id, mark)); attempt++) {
          assert.ok(attempt < 400, `alert ${id} was never accepted`);
          await new Promise((r) => setTimeout(r, 50));
        }
        if (mark.failedAt) waits.push(Date.now() - mark.failedAt);
        acked.add(id);
        if (!kill && acked.size >= 150) {
          killedAt = Date.now();
          kill = dockerOk(['kill', '-s', 'KILL', victim.id]);
        }
      }
    }));
    await kill;
    assert.ok(killedAt, 'the kill came amid the alerts');
    assert.equal(acked.size, TOTAL);
    const header = (raw: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(raw)?.[1]?.trim();
    let last = '';
    const byId = await waitUntil(`${TOTAL} alerts at the SMTP sink`, async () => {
      const seen = new Map<string, StoredMessage[]>();
      const all = (await (await fetch(`${sink}/messages`, { signal: AbortSignal.timeout(3_000) })).json()) as StoredMessage[];
      for (const m of all) {
        if (!m.text.includes('stack kill test')) continue; // the agents' own alerts (a first check before the names resolve)
        const id = header(m.raw, 'X-Ch2-Alert-Id');
        if (id) seen.set(id, [...(seen.get(id) ?? []), m]);
      }
      last = `${seen.size} of ${TOTAL} alerts among ${all.length} messages`;
      return ids.every((id) => seen.has(id)) ? seen : undefined;
    }, 60_000, 500).catch(async (err: Error) => {
      const logs = await Promise.all(healthy(await tasks(), 'mailer').map(async (m) => (await docker(['logs', '--tail', '15', m.id])).stdout + (await docker(['logs', '--tail', '15', m.id])).stderr));
      throw new Error(`${err.message}: ${last}; the healthy mailers' logs end:\n${logs.join('\n---\n')}`);
    });
    const delivered = Date.now();
    assert.deepEqual([...byId.keys()].filter((id) => !ids.includes(id)), [], 'nothing that was not sent');
    let repeats = 0;
    for (const id of ids) {
      const copies = byId.get(id)!;
      assert.equal(new Set(copies.map((m) => header(m.raw, 'Message-ID'))).size, 1, `alert ${id} arrived as different messages`);
      repeats += copies.length - 1;
    }
    // Swarm replaces the killed task: a new container in its slot, healthy beside the other.
    await waitUntil(`a new task in the killed mailer's slot ${victim.slot}`, async () => {
      const all = await tasks();
      return all.some((t) => t.service === 'mailer' && t.slot === victim.slot && t.id !== victim.id) ? true : undefined;
    }, 20_000, 500);
    await waitUntil('2 mailers healthy again', async () => (healthy(await tasks(), 'mailer').length === 2 ? true : undefined), 30_000, 500);
    console.log(`  kill of mailer slot ${victim.slot}: ${TOTAL} alerts, all delivered ${delivered - killedAt} ms after the kill; ${waits.length} met a failure after it, the failover at most ${Math.max(0, ...waits)} ms; ${repeats} repeated with the same Message-ID; the task replaced ${Date.now() - delivered} ms after`);
  });
});
