/**
 * Two hubs (two mailers on one shared store) with real objects (StatusHub,
 * AgentRegistry, AgentSilence, the memory store), each one's hub writes
 * carried to the other as the store would (HubChanges: the rows named, as
 * last written; hub.synced, hub-sync.ts). An agent reporting to A only is
 * at B (registry, target board, the page's events); an incident A opens is
 * open at B, and closed at B when A closes it; nothing B applies is written
 * back. An up for A's incident reaching B closes it at both. --quorum 2, an
 * agent at each mailer: one down sends nothing, the second's (at B, seeing
 * A's agent down from its row, written at its alert) sends one hub down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { type HubEvent, StatusHub } from '../../mailer/hub/hub.ts';
import { type AgentRow, type HubChanges, type HubWrite, type IncidentRow, NO_BUCKETS, type TargetRow } from '../../mailer/hub/model.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import { LATENCY_BUCKETS_MS, type AgentReport } from '../../shared/wire-report.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const WEB = 'http://shop/';
const PEER = '10.0.0.9:4000';
const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, output() {} };
let now = T0;
let n = 0;
const flush = () => new Promise((r) => setImmediate(r));

async function mailer(quorum = 1) {
  const store = new MemoryOutbox();
  const registry = new AgentRegistry({ log });
  const sent: string[] = [];
  const events: HubEvent[] = [];
  const admit = (item: QueuedAlert, peer: string): void => {
    const held = hub.beforeKeep(item, peer);
    if (!held) sent.push(`${peer === 'hub' ? 'hub' : item.alert.agent} ${item.alert.status} ${item.alert.incident}`);
    hub.admitted(item, peer, held);
  };
  const sink = {
    admitJson: async (req: AlertRequest) => {
      admit({ alert: { to: 'admin@work', status: 'down', ...req, id: req.id ?? 'x', message: req.message }, line: '', via: 'json', receivedAt: now }, 'hub');
      return { ok: true, id: req.id ?? 'x', duplicate: false };
    },
  };
  const silence = new AgentSilence({ registry, admissions: sink, recipient: 'admin@work', setting: 'off', log, clock: { now: () => now, setTimer: () => ({ clear() {} }) } });
  const hub: StatusHub = new StatusHub({ store, snapshot: await store.hubLoad(), registry, silence, log, quorum, now: () => now, sharedStore: true });
  hub.bind(sink);
  hub.subscribe((e) => void events.push(e));
  let carried = 0;
  return {
    hub,
    store,
    sent,
    events,
    async alert(agent: string, status: 'up' | 'down', incident: string) {
      admit({ alert: { id: `al-${++n}`, to: 'admin@work', message: `shop is ${status}`, status, target: WEB, incident, agent, instance: `${agent}-one-1234`, time: new Date(now).toISOString() }, line: '', via: 'json', receivedAt: now }, PEER);
      await flush();
    },
    async report(agent: string, state: 'up' | 'down') {
      const r: AgentReport = { v: 1, agent: { name: agent, instance: `${agent}-one-1234`, version: '1' }, sentAt: new Date(now).toISOString(), intervalMs: 1000, targets: [{ name: WEB, state, checks: 1, failures: state === 'down' ? 1 : 0, latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0) }] };
      assert.equal(hub.report(r), undefined);
      await flush();
    },
    /** This mailer's writes since the last call, as the store hands them to another (the rows named, as last written). */
    changes(): HubChanges {
      const writes: HubWrite[] = this.store.hubWrites.slice(carried);
      carried = this.store.hubWrites.length;
      const agents = new Map<string, AgentRow>();
      const targets = new Map<string, TargetRow>();
      const incidents = new Map<string, IncidentRow>();
      for (const w of writes) {
        if (w.op === 'agent') agents.set(w.row.name, structuredClone(w.row));
        else if (w.op === 'target') targets.set(w.row.name, structuredClone(w.row));
        else if (w.op === 'incident') incidents.set(w.row.id, structuredClone(w.row));
      }
      return { full: false, agents: [...agents.values()], goneAgents: [], targets: [...targets.values()], goneTargets: [], incidents: [...incidents.values()], buckets: NO_BUCKETS };
    },
  };
}

type Mailer = Awaited<ReturnType<typeof mailer>>;
/** Carry what `from` wrote to `to`; returns how many writes `to` made while applying it (none: no echo). */
async function carry(from: Mailer, to: Mailer): Promise<number> {
  const before = to.store.hubWrites.length;
  to.hub.synced(from.changes());
  await flush();
  return to.store.hubWrites.length - before;
}

test('an agent reporting to A, its target, and the incident A opens and closes, are at B; nothing applied is written back', async () => {
  const a = await mailer();
  const b = await mailer();
  await a.report('box', 'up');
  assert.equal(await carry(a, b), 0, 'B writes nothing of what it applies');
  assert.equal(b.hub.registry.get('box')?.state, 'reporting');
  assert.equal(b.hub.targets.get(WEB)?.state, 'up');
  assert.ok(b.events.some((e) => e.type === 'agent' && e.data.name === 'box'), 'the page told of the agent');
  assert.ok(b.events.some((e) => e.type === 'target' && e.data.name === WEB && e.data.state === 'up'), 'and of the target');
  now += 1000;
  await a.alert('box', 'down', 'inc-1');
  await a.report('box', 'down');
  b.events.length = 0;
  assert.equal(await carry(a, b), 0);
  assert.equal(b.hub.targets.get(WEB)?.state, 'down');
  assert.equal(b.hub.incidents.openOn(WEB)?.id, 'inc-1');
  assert.ok(b.events.some((e) => e.type === 'target' && e.data.state === 'down'), 'the page told the target is down');
  assert.ok(b.events.some((e) => e.type === 'incident' && e.data.id === 'inc-1' && e.data.state === 'open'));
  assert.equal(b.hub.targets.get(WEB)?.agents.get('box')?.state, 'down', "the agent's view, from its row");
  now += 1000;
  await a.alert('box', 'up', 'inc-1');
  assert.equal(await carry(a, b), 0);
  assert.equal(b.hub.incidents.openOn(WEB), undefined, 'closed at B too');
  assert.equal(b.hub.targets.get(WEB)?.state, 'up');
  assert.deepEqual(b.sent, [], 'B sent nothing');
});

test('an up for the incident A opened, reaching B, closes it at B and, carried back, at A', async () => {
  const a = await mailer();
  const b = await mailer();
  await a.report('box', 'up');
  await a.alert('box', 'down', 'inc-2');
  await carry(a, b);
  now += 1000;
  await b.alert('box', 'up', 'inc-2'); // the agent failed over to B
  assert.deepEqual(b.sent, ['box up inc-2'], 'its up goes through at B');
  assert.equal(b.hub.incidents.openOn(WEB), undefined);
  await carry(b, a);
  assert.equal(a.hub.incidents.openOn(WEB), undefined, "B's close reached A");
  assert.equal(a.hub.targets.get(WEB)?.state, 'up');
});

/** Two mailers at --quorum 2, agent a1 reporting up to A and b1 to B, each mailer told of the other's rows. */
async function twoAtQuorum2() {
  const a = await mailer(2);
  const b = await mailer(2);
  await a.report('a1', 'up');
  await b.report('b1', 'up');
  await carry(a, b);
  await carry(b, a);
  return [a, b] as const;
}

test('--quorum 2, one agent at each mailer: one down sends nothing; the second, at B, makes one hub down (A\'s agent counted from its row, written at its alert)', async () => {
  const [a, b] = await twoAtQuorum2();
  now += 1000;
  await a.alert('a1', 'down', 'inc-a1'); // no report of a1's since: its alert's word crosses with its row
  assert.deepEqual(a.sent, [], 'one of two: nothing');
  await carry(a, b);
  assert.deepEqual(b.sent, []);
  now += 1000;
  await b.alert('b1', 'down', 'inc-b1');
  assert.equal(b.sent.length, 1, `one down: ${b.sent.join(', ')}`);
  assert.match(b.sent[0]!, /^hub down hub-/);
  await carry(b, a);
  assert.deepEqual(a.sent, [], 'A sends none of its own');
  assert.equal(a.hub.targets.get(WEB)?.state, 'down');
  assert.equal(a.hub.incidents.openOn(WEB)?.id, b.hub.incidents.openOn(WEB)?.id, 'one incident at both');
});

test('--quorum 2, both downs before either crossed: each mailer, given the other\'s row, decides the hub down with the same id (the store keeps one)', async () => {
  const [a, b] = await twoAtQuorum2();
  now += 1000;
  await a.alert('a1', 'down', 'inc-a1');
  now += 5;
  await b.alert('b1', 'down', 'inc-b1');
  assert.deepEqual([a.sent, b.sent], [[], []], 'each held its own: the other agent was up');
  const fromA = a.changes();
  const fromB = b.changes();
  a.hub.synced(fromB);
  b.hub.synced(fromA);
  await flush();
  assert.equal(a.sent.length, 1, `A: ${a.sent.join(', ')}`);
  assert.equal(b.sent.length, 1, `B: ${b.sent.join(', ')}`);
  assert.match(a.sent[0]!, /^hub down hub-/);
  assert.equal(a.sent[0], b.sent[0], 'the same id at both: one alert in the store');
});
