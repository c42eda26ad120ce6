/**
 * Reports cannot grow the hub without bound (review N4): the targets of
 * all agents together are at most the board's MAX_TARGETS; the names a
 * report gives past it (or that the board refused) are kept neither in the
 * agent's record nor in the store's row, nor on the board; an agent's own
 * known targets stay its own; and agents restored from the store are cut
 * to the cap too. A real StatusHub, AgentRegistry and AgentSilence on the
 * in-memory store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../shared/logger.ts';
import { LATENCY_BUCKETS_MS, type AgentReport, type TargetReport } from '../../shared/wire-report.ts';
import { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import { StatusHub } from '../../mailer/hub/hub.ts';
import type { AgentRow, HubWrite } from '../../mailer/hub/model.ts';
import { MAX_TARGETS } from '../../mailer/hub/target-board.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const lines: string[] = [];
const log: Logger = { debug: () => {}, info: () => {}, output: () => {}, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };

function target(name: string): TargetReport {
  return { name, state: 'up', checks: 1, failures: 0, latency: [1, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)] };
}

function report(agent: string, names: string[]): AgentReport {
  return { v: 1, agent: { name: agent, instance: `${agent}-1`, version: '1' }, sentAt: new Date().toISOString(), intervalMs: 10_000, targets: names.map(target) };
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function hubOn(store: MemoryOutbox, registry = new AgentRegistry({ log })): Promise<StatusHub> {
  const silence = new AgentSilence({ registry, admissions: { admitJson: async () => ({}) }, recipient: 'admin@work', setting: 'off', log });
  return new StatusHub({ store, snapshot: await store.hubLoad(), registry, silence, log });
}

function lastAgentRow(writes: readonly HubWrite[], name: string): AgentRow | undefined {
  for (let i = writes.length - 1; i >= 0; i--) {
    const w = writes[i]!;
    if (w.op === 'agent' && w.row.name === name) return w.row;
  }
  return undefined;
}

test('the targets summed over all agents are capped at the board\'s cap; names past it are kept nowhere', async (t) => {
  const store = new MemoryOutbox();
  const hub = await hubOn(store);
  t.after(() => hub.close());
  const first = Math.floor(MAX_TARGETS * 0.6);
  assert.equal(hub.report(report('a', names('a', first))), undefined);
  // b names as many again: only what is left under the cap is kept, in its order.
  assert.equal(hub.report(report('b', names('b', first))), undefined);
  const b = hub.registry.get('b')!;
  assert.equal(b.targets.size, MAX_TARGETS - first);
  assert.equal(b.targets.has(`b-${MAX_TARGETS - first - 1}`), true);
  assert.equal(b.targets.has(`b-${MAX_TARGETS - first}`), false, 'a name past the cap is not in the record');
  assert.equal(lastAgentRow(store.hubWrites, 'b')!.targets.length, MAX_TARGETS - first, 'nor in the store');
  assert.equal([...hub.targets.all()].length, MAX_TARGETS);
  assert.equal(hub.targets.get(`b-${MAX_TARGETS - first}`), undefined, 'nor on the board');
  assert.match(lines.join('\n'), new RegExp(`agent b: ${first - (MAX_TARGETS - first)} of the ${first} targets it reports are not kept`));
  // A third agent gets nothing, however many reports it sends; the sum stays at the cap.
  for (let i = 0; i < 3; i++) hub.report(report(`c${i}`, names(`c${i}`, 1000)));
  const sum = [...hub.registry.records()].reduce((n, r) => n + r.targets.size, 0);
  assert.equal(sum, MAX_TARGETS);
  // a keeps its own targets on its next report (they are its, not new).
  hub.report(report('a', names('a', first)));
  assert.equal(hub.registry.get('a')!.targets.size, first);
  // a then watches fewer: room under the sum, but the board still holds a's old names (full), so b's new ones are refused.
  hub.report(report('a', names('a', 10)));
  hub.report(report('b', names('b', first)));
  assert.equal(hub.registry.get('b')!.targets.size, MAX_TARGETS - first, 'names the board refused are not kept');
});

test('agents restored from the store are cut to the cap, and the board follows their records', async (t) => {
  const store = new MemoryOutbox();
  const row = (name: string, n: number): AgentRow => ({
    name,
    instance: `${name}-1`,
    version: '1',
    firstSeenAt: 0,
    instanceSince: 0,
    lastReportAt: 0,
    intervalMs: 10_000,
    state: 'reporting',
    targets: names(name, n).map((t) => ({ name: t, state: 'up' as const })),
  });
  const snapshot = await store.hubLoad();
  store.hubLoad = async () => ({ ...snapshot, agents: [row('x', MAX_TARGETS), row('y', MAX_TARGETS)] });
  const hub = await hubOn(store);
  t.after(() => hub.close());
  assert.equal(hub.registry.get('x')!.targets.size, MAX_TARGETS);
  assert.equal(hub.registry.get('y')!.targets.size, 0);
});
