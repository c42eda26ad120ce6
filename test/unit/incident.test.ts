import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Incident, type Transition } from '../../agent/incident.ts';

function run(incident: Incident, pattern: string, start = 0, stepMs = 1000): Transition[] {
  const out: Transition[] = [];
  [...pattern].forEach((c, i) => {
    const t = incident.observe({ ok: c === '+', at: start + i * stepMs, reason: 'connection refused' });
    if (t) out.push(t);
  });
  return out;
}

test('defaults: the first failure opens an incident, the first success closes it', () => {
  const incident = new Incident();
  const transitions = run(incident, '++--+');
  assert.deepEqual(transitions, [
    { kind: 'down', at: 2000, reason: 'connection refused' },
    { kind: 'up', at: 4000, downForMs: 2000 },
  ]);
  assert.equal(incident.state, 'up');
});

test('one down alert per incident, however long it lasts', () => {
  const transitions = run(new Incident(), '-'.repeat(50));
  assert.equal(transitions.length, 1);
  assert.equal(transitions[0]?.kind, 'down');
});

test('failure threshold: a blip shorter than the threshold raises nothing', () => {
  const transitions = run(new Incident({ failureThreshold: 3, successThreshold: 1 }), '++--++-+--+');
  assert.deepEqual(transitions, []);
});

test('failure threshold: downtime counts from the first failure of the run', () => {
  const transitions = run(new Incident({ failureThreshold: 3, successThreshold: 1 }), '+---+');
  assert.deepEqual(transitions, [
    { kind: 'down', at: 3000, reason: 'connection refused' },
    { kind: 'up', at: 4000, downForMs: 3000 },
  ]);
});

test('flapping with a success threshold: one incident, not a storm', () => {
  const incident = new Incident({ failureThreshold: 2, successThreshold: 3 });
  const transitions = run(incident, '--+-+-++-+++');
  assert.deepEqual(
    transitions.map((t) => t.kind),
    ['down', 'up'],
  );
  assert.equal(incident.state, 'up');
});

test('thresholds below 1 are refused', () => {
  assert.throws(() => new Incident({ failureThreshold: 0, successThreshold: 1 }), RangeError);
});
