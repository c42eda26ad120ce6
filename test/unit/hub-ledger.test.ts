/**
 * The ledger through the hub, with real objects (StatusHub, AgentRegistry,
 * AgentSilence, the memory store): alerts go through beforeKeep and admitted
 * as Admissions does, and the hub's own alerts come back the same way, so
 * `sent` is what the channels get. N2: another agent's up, or a restarted
 * agent's new instance while another agent sees the target down, sends no
 * up; --quorum 2 of three: one down is silent, two give one down (the hub's,
 * naming both), fewer than two after that one up; a goodbye leaves the
 * target stale. Operations: closed by hand (one up, then 404), an agent
 * forgotten with the targets only it watched, --forget-after's sweep.
 * A shared store (several mailers): an agent's up for an incident another
 * mailer opened is not held here (the told stage decides where it goes).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { StatusHub } from '../../mailer/hub/hub.ts';
import { HubOperations } from '../../mailer/hub/hub-operations.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import { LATENCY_BUCKETS_MS, type AgentReport } from '../../shared/wire-report.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const WEB = 'http://shop/';
const PEER = '10.0.0.9:4000';

async function harness(quorum = 1, sharedStore = false) {
  const store = new MemoryOutbox();
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m), output() {} };
  let now = T0;
  const registry = new AgentRegistry({ log });
  const sent: Array<{ status: string; incident: string | undefined; message: string; by: string }> = [];
  const admit = (item: QueuedAlert, peer: string): void => {
    const held = hub.beforeKeep(item, peer);
    if (!held) sent.push({ status: item.alert.status, incident: item.alert.incident, message: item.alert.message, by: peer === 'hub' ? 'hub' : item.alert.agent ?? '?' });
    hub.admitted(item, peer, held);
  };
  const sink = {
    admitJson: async (req: AlertRequest) => {
      const { to: _to, ...rest } = req;
      admit({ alert: { to: 'admin@work', status: 'down', ...rest, id: req.id ?? 'x', message: req.message }, line: '', via: 'json', receivedAt: now }, 'hub');
      return { ok: true, id: req.id ?? 'x', duplicate: false };
    },
  };
  const silence = new AgentSilence({ registry, admissions: sink, recipient: 'admin@work', setting: 'off', log, clock: { now: () => now, setTimer: () => ({ clear() {} }) } });
  const hub: StatusHub = new StatusHub({ store, snapshot: await store.hubLoad(), registry, silence, log, quorum, now: () => now, sharedStore });
  hub.bind(sink);
  const flush = () => new Promise((r) => setImmediate(r));
  let n = 0;
  return {
    hub,
    ops: new HubOperations(hub, store, () => sink),
    store,
    now: () => now,
    sent,
    lines,
    tick: (ms: number) => void (now += ms),
    async alert(agent: string, instance: string, status: 'up' | 'down', incident: string, reminder?: number) {
      admit({ alert: { id: `al-${++n}`, to: 'admin@work', message: `shop is ${status}`, status, target: WEB, incident, agent, instance, time: new Date(now).toISOString(), ...(reminder ? { reminder } : {}) }, line: '', via: 'json', receivedAt: now }, PEER);
      await flush();
    },
    async report(agent: string, instance: string, state: 'up' | 'down' | 'unknown', goodbye = false) {
      const r: AgentReport = { v: 1, agent: { name: agent, instance, version: '1' }, sentAt: new Date(now).toISOString(), intervalMs: 1000, targets: [{ name: WEB, state, checks: 1, failures: state === 'down' ? 1 : 0, latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0) }], ...(goodbye ? { goodbye: true } : {}) };
      assert.equal(hub.report(r), undefined);
      await flush();
    },
    state: () => hub.targets.get(WEB)?.state,
  };
}

test('N2: another agent starting and reporting up sends no up, and the target stays down', async () => {
  const h = await harness();
  await h.report('a', 'a-one-1234', 'up');
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['a down']);
  h.tick(1000);
  await h.report('b', 'b-one-1234', 'up');
  await h.report('b', 'b-two-1234', 'up'); // b restarted too
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['a down'], 'no up');
  assert.equal(h.state(), 'down');
  assert.equal(h.hub.incidents.openOn(WEB)?.id, 'inc-a');
  await h.alert('a', 'a-one-1234', 'up', 'inc-a');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status} ${s.incident}`), ['a down inc-a', 'a up inc-a']);
  assert.equal(h.state(), 'up');
});

test('two agents down, the opener restarted and seeing it up: no up while the other sees it down; its up then is the hub\'s on the incident', async () => {
  const h = await harness();
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  await h.alert('b', 'b-one-1234', 'down', 'inc-b');
  await h.report('a', 'a-two-1234', 'up');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['a down'], 'b joined; a restarted sends no up');
  assert.equal(h.state(), 'down');
  await h.alert('b', 'b-one-1234', 'up', 'inc-b');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status} ${s.incident}`), ['a down inc-a', 'hub up inc-a']);
  assert.equal(h.hub.incidents.openOn(WEB), undefined, 'closed by the hub\'s up');
  assert.equal(h.state(), 'up');
});

test('the restarted opener alone: its new instance reporting up ends the incident with the hub\'s up, once', async () => {
  const h = await harness();
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  await h.report('a', 'a-two-1234', 'up');
  await h.report('a', 'a-two-1234', 'up');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['a down', 'hub up']);
  assert.match(h.sent[1]!.message, /is up again \(agent a reports it up; the agent that saw it go down restarted\)/);
});

test('--quorum 2 with three agents: one down is silent, two give one down naming both, the third joins, fewer than two give one up', async () => {
  const h = await harness(2);
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  assert.equal(h.sent.length, 0, 'one down is silent');
  assert.notEqual(h.state(), 'down');
  await h.alert('b', 'b-one-1234', 'down', 'inc-b');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['hub down']);
  assert.match(h.sent[0]!.message, /agents a, b see it down; quorum 2/);
  await h.alert('c', 'c-one-1234', 'down', 'inc-c');
  await h.alert('a', 'a-one-1234', 'up', 'inc-a');
  assert.equal(h.sent.length, 1, 'b and c still agree');
  await h.alert('b', 'b-one-1234', 'up', 'inc-b');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['hub down', 'hub up']);
  assert.equal(h.sent[0]!.incident, h.sent[1]!.incident, 'one incident id');
  await h.alert('c', 'c-one-1234', 'up', 'inc-c');
  assert.equal(h.sent.length, 2);
});

test('a goodbye: the agent drops out of the views; its target, watched by no one else, is stale with why; its incident stays open', async () => {
  const h = await harness();
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  await h.report('a', 'a-one-1234', 'down', true);
  assert.equal(h.state(), 'stale');
  assert.equal(h.hub.targets.get(WEB)?.staleWhy, 'agent a stopped');
  assert.equal(h.hub.incidents.openOn(WEB)?.id, 'inc-a');
  assert.deepEqual(h.sent.map((s) => s.status), ['down']);
});

test('close by hand: the hub admits one "closed by hand" up on the incident, the row closes with the comment (committed); a second close is false (404)', async () => {
  const h = await harness();
  await h.alert('a', 'a-one-1234', 'down', 'inc-a');
  assert.equal(await h.ops.closeIncident('inc-a', 'known outage', h.now()), true);
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status} ${s.incident}`), ['a down inc-a', 'hub up inc-a']);
  assert.match(h.sent[1]!.message, /incident closed by hand \(known outage\)/);
  assert.equal(h.hub.incidents.openOn(WEB), undefined);
  assert.equal(await h.ops.closeIncident('inc-a', '', h.now()), false);
  assert.equal(await h.ops.closeIncident('nope', '', h.now()), false);
  // The agent's own up later is not told again: its incident was ended.
  await h.alert('a', 'a-one-1234', 'up', 'inc-a');
  assert.equal(h.sent.length, 2);
});

test('forget an agent: its record and the targets only it watched go; a target another agent watches stays', async () => {
  const h = await harness();
  await h.report('a', 'a-one-1234', 'up');
  await h.report('b', 'b-one-1234', 'up');
  assert.equal(await h.ops.forgetAgent('a', h.now()), true);
  assert.equal(h.hub.registry.get('a'), undefined);
  assert.equal(h.hub.targets.get(WEB)?.state, 'up', 'b still watches it');
  assert.equal(await h.ops.forgetAgent('b', h.now()), true);
  assert.equal(h.hub.targets.get(WEB), undefined, 'no agent left: forgotten');
  assert.ok(h.store.hubWrites.some((w) => w.op === 'forget-agent' && w.name === 'b'));
  assert.ok(h.store.hubWrites.some((w) => w.op === 'forget-target' && w.name === WEB));
  assert.equal(await h.ops.forgetAgent('b', h.now()), false);
});

test('--forget-after: a target no agent has reported for that long is forgotten, not before, and not while its incident is open', async () => {
  const h = await harness();
  await h.report('a', 'a-one-1234', 'up', true);
  h.tick(7 * 86_400_000 - 1);
  assert.deepEqual(h.ops.forgetQuiet(7 * 86_400_000, h.now()), []);
  h.tick(1);
  assert.deepEqual(h.ops.forgetQuiet(7 * 86_400_000, h.now()), [WEB]);
  assert.equal(h.hub.targets.get(WEB), undefined);
});

test('two agents sharing one --agent-name: their alternating reports are no restarts (one throttled warning), and the other\'s up does not end the incident', async () => {
  const h = await harness();
  await h.report('host', 'inst-one-1234', 'up');
  await h.alert('host', 'inst-one-1234', 'down', 'inc-1');
  for (let i = 0; i < 4; i++) {
    await h.report('host', 'inst-two-1234', 'up');
    await h.report('host', 'inst-one-1234', 'down');
  }
  await h.report('host', 'inst-two-1234', 'up');
  assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status}`), ['host down'], 'no up');
  assert.equal(h.state(), 'down');
  assert.equal(h.lines.filter((l) => /two agents report as host/.test(l)).length, 1, 'one warning');
  assert.equal(h.lines.filter((l) => /agent host restarted/.test(l)).length, 1, 'only the first alternation looked like a restart');
});

test("a shared store: an agent's up for an incident another mailer opened is not held for want of it; alone, such an up is held", async () => {
  for (const shared of [false, true]) {
    const h = await harness(1, shared);
    await h.report('a', 'a-one-1234', 'down');
    await h.alert('a', 'a-one-1234', 'up', 'inc-elsewhere');
    assert.deepEqual(h.sent.map((s) => `${s.by} ${s.status} ${s.incident}`), shared ? ['a up inc-elsewhere'] : [], shared ? 'to the channels (told stage)' : 'held: its down was not told here');
    assert.equal(h.hub.incidents.openOn(WEB), undefined, 'no incident opened or kept here');
    // Its next down is an incident of its own as ever.
    await h.alert('a', 'a-one-1234', 'down', 'inc-next');
    assert.equal(h.hub.incidents.openOn(WEB)?.id, 'inc-next');
  }
});
