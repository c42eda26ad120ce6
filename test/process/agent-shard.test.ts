/**
 * Sharded agents, from the built bundles: three agents with --shard 1/3,
 * 2/3 and 3/3 (the last as SHARD=index:2/3) over one config file check only
 * their share of its targets (a local site counts the checks of each path),
 * and the hub (a mailer bundle, GET /api/v1/status) sees each target watched
 * by exactly the replica rendezvous hashing names, or by two with
 * --copies 2. Bad values exit 2 with one line.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { configFiles } from '../support/config-files.ts';
import { run, type Running, start, startMailer } from '../support/process.ts';
import { owners } from '../../shared/rendezvous.ts';

const { file } = configFiles('ch2-shard-proc-');
const NAMES = Array.from({ length: 12 }, (_, i) => `t${i + 1}`);
const hits = new Map<string, number>();
let site: Server;
let config = '';

before(async () => {
  site = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    hits.set(name, (hits.get(name) ?? 0) + 1);
    res.end('ok');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  config = file(`defaults:\n  interval: 200ms\ntargets:\n${NAMES.map((n) => `  - name: ${n}\n    url: ${base}/${n}\n`).join('')}`, 'yaml');
});
after(() => {
  site.closeAllConnections();
  site.close();
});

interface StatusTarget {
  name: string;
  agents: Array<{ name: string }>;
}

/** The hub's targets, once every name is watched by `copies` agents (or the last answer after `timeoutMs`). */
async function watchedBy(base: string, copies: number, timeoutMs = 10_000): Promise<Map<string, string[]>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await (await fetch(`${base}/api/v1/status`)).json()) as { targets: StatusTarget[] };
    const by = new Map(status.targets.map((t) => [t.name, t.agents.map((a) => a.name).sort()]));
    if (NAMES.every((n) => by.get(n)?.length === copies) || Date.now() > deadline) return by;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function shardRun(copies: number): Promise<void> {
  const mailer = await startMailer(['--to', 'admin@work']);
  const base = `http://127.0.0.1:${mailer.port}`;
  const common = ['--config', config, '--mailer', base, '--report-every', '1s', '--view', 'lines', '--copies', String(copies)];
  const agents: Running[] = [
    start('agent', [...common, '--shard', '1/3', '--agent-name', 'replica-1']),
    start('agent', [...common, '--shard', '2/3', '--agent-name', 'replica-2']),
    start('agent', [...common, '--agent-name', 'replica-3'], { SHARD: 'index:2/3' }),
  ];
  try {
    const watched = await Promise.all(agents.map(async (a, i) => Number((await a.waitFor(new RegExp(`Shard ${i + 1}/3: watching (\\d+) of 12 targets`)))[1])));
    assert.equal(watched.reduce((s, n) => s + n, 0), 12 * copies, `shares ${watched}`);
    const by = await watchedBy(base, copies);
    for (const name of NAMES) {
      const expected = owners(name, 3, copies).map((r) => `replica-${r + 1}`).sort();
      assert.deepEqual(by.get(name), expected, `${name}: watched by ${by.get(name)}, rendezvous says ${expected}`);
    }
    hits.clear();
    await new Promise((r) => setTimeout(r, 1000));
    // Each target checked about every 200 ms by each of its `copies` replicas: about 5 × copies in a second.
    for (const name of NAMES) {
      const n = hits.get(name) ?? 0;
      assert.ok(n >= 2 * copies && n <= 8 * copies, `${name}: ${n} checks in 1s by ${copies} replica(s)`);
    }
  } finally {
    await Promise.all([...agents.map((a) => a.stop()), mailer.stop()]);
  }
}

test('three agents --shard 1/3, 2/3, index:2/3 over one config each check only their share; the hub sees each target on one replica', () => shardRun(1));

test('with --copies 2 each target is checked by two of the three replicas, the two rendezvous names', () => shardRun(2));

test('a bad --shard or --copies exits 2 with one line', () => {
  for (const [args, env, reason] of [
    [['--shard', '0/3'], {}, /Replicas count from 1 in i\/n \(1\/3 to 3\/3\); for a 0-based index write index:0\/3\./],
    [[], { SHARD: '4/3' }, /4\/3 is past the last replica: i goes from 1 to 3\./],
    [['--shard', 'index:3/3'], {}, /an index goes from 0 to 2\./],
    [['--shard', 'two'], {}, /Expected i\/n with i from 1 to n/],
    [['--shard', '1/2', '--copies', '3'], {}, /--copies 3 \(COPIES\) is more than the 2 replicas of --shard 1\/2 \(SHARD\)\./],
    [[], { COPIES: '2' }, /--copies \(COPIES\) needs --shard i\/n \(SHARD\)/],
  ] as const) {
    const r = run('agent', [...args], env);
    assert.equal(r.code, 2, `${args} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^ch2-agent: /);
    assert.match(r.stderr, reason);
  }
});
