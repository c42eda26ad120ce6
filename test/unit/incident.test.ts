import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Incident, type IncidentTransition, type Transition } from '../../agent/incidents/incident.ts';

/** A transition without its outage id (test/unit/incident-ids.test.ts is about those). */
function plain(t: IncidentTransition): Transition {
  const { incident: _id, ...rest } = t;
  return rest;
}

function run(incident: Incident, pattern: string, start = 0, stepMs = 1000): Transition[] {
  const out: Transition[] = [];
  [...pattern].forEach((c, i) => {
    const t = incident.observe({ ok: c === '+', at: start + i * stepMs, reason: 'connection refused' });
    if (t) out.push(plain(t));
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

test('the "up" alert says how long the outage lasted, from the first failure of the run that opened it', () => {
  const incident = new Incident({ failureThreshold: 2, successThreshold: 2 });
  const out = run(incident, '+--------++', 0, 500);
  assert.deepEqual(out, [
    { kind: 'down', at: 1000, reason: 'connection refused' },
    { kind: 'up', at: 5000, downForMs: 4500 },
  ]);
});

test('unconfirmed: a run under its threshold is "failure" while up and "success" while down', () => {
  const incident = new Incident({ failureThreshold: 3, successThreshold: 2 });
  assert.equal(incident.unconfirmed, undefined);
  incident.observe({ ok: false, at: 0 });
  assert.equal(incident.unconfirmed, 'failure');
  incident.observe({ ok: true, at: 1 });
  assert.equal(incident.unconfirmed, undefined, 'a good check clears the run');
  run(incident, '---', 10);
  assert.equal(incident.state, 'down');
  assert.equal(incident.unconfirmed, undefined);
  assert.equal(incident.downSince, 10);
  incident.observe({ ok: true, at: 20 });
  assert.equal(incident.unconfirmed, 'success');
  incident.observe({ ok: true, at: 21 });
  assert.equal(incident.state, 'up');
  assert.equal(incident.downSince, undefined);
});

test('flapping under both thresholds never opens an incident, however long it goes on', () => {
  const incident = new Incident({ failureThreshold: 2, successThreshold: 2 });
  assert.deepEqual(run(incident, '-+'.repeat(500)), []);
  assert.equal(incident.state, 'up');
});

test('flapping while down: no reminder storm and no up alert until the success threshold holds', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 3, remindEveryMs: 10_000, maxReminders: 100 });
  // Down at 0, then alternating for 60 s (one check a second): the good checks never reach 3 in a row.
  const out = run(incident, `-${'+-'.repeat(30)}+++`);
  assert.deepEqual(
    out.map((t) => t.kind),
    ['down', 'reminder', 'reminder', 'reminder', 'reminder', 'reminder', 'reminder', 'up'],
  );
  const reminders = out.filter((t) => t.kind === 'reminder');
  assert.deepEqual(reminders.map((t) => (t.kind === 'reminder' ? t.count : 0)), [1, 2, 3, 4, 5, 6]);
  const up = out.at(-1);
  assert.deepEqual(up, { kind: 'up', at: 63_000, downForMs: 63_000 });
});

test('reminders: every remindEveryMs while down, counted, with the latest reason and the outage so far', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: 3000 });
  const out: Transition[] = [];
  for (let i = 0; i <= 10; i++) {
    const t = incident.observe({ ok: false, at: i * 1000, reason: i < 5 ? 'connection refused' : 'HTTP 503' });
    if (t) out.push(plain(t));
  }
  assert.deepEqual(out, [
    { kind: 'down', at: 0, reason: 'connection refused' },
    { kind: 'reminder', at: 3000, reason: 'connection refused', downForMs: 3000, count: 1 },
    { kind: 'reminder', at: 6000, reason: 'HTTP 503', downForMs: 6000, count: 2 },
    { kind: 'reminder', at: 9000, reason: 'HTTP 503', downForMs: 9000, count: 3 },
  ]);
});

test('reminders stop at maxReminders and start again with the next incident', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: 1000, maxReminders: 2 });
  const first = run(incident, '-------+');
  assert.deepEqual(first.map((t) => t.kind), ['down', 'reminder', 'reminder', 'up']);
  const second = run(incident, '----', 100_000);
  assert.deepEqual(second.map((t) => t.kind), ['down', 'reminder', 'reminder']);
});

test('reminders are off by default and with maxReminders 0', () => {
  assert.deepEqual(run(new Incident({ failureThreshold: 1, successThreshold: 1 }), '-'.repeat(100)).length, 1);
  assert.deepEqual(run(new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: 1000, maxReminders: 0 }), '-'.repeat(100)).length, 1);
});

test('a reminder falls due from the observations\' times, not from how many checks were made', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: 60_000 });
  assert.equal(incident.observe({ ok: false, at: 0 })?.kind, 'down');
  // Quick confirming checks and many fast checks do not make a reminder early.
  for (let at = 10; at < 59_000; at += 10) assert.equal(incident.observe({ ok: false, at }), undefined);
  assert.equal(incident.observe({ ok: false, at: 60_000 })?.kind, 'reminder');
});

test('a reminder period equal to the check interval survives a millisecond of timer jitter', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: 1000 });
  incident.observe({ ok: false, at: 50 });
  assert.equal(incident.observe({ ok: false, at: 1049 })?.kind, 'reminder');
  assert.equal(incident.observe({ ok: false, at: 1500 }), undefined);
});

test('a good check while down resets nothing of the reminder clock', () => {
  const incident = new Incident({ failureThreshold: 1, successThreshold: 2, remindEveryMs: 2000 });
  const out = run(incident, '-+--');
  assert.deepEqual(out.map((t) => t.kind), ['down', 'reminder']);
  assert.equal(out[1]?.at, 2000);
});

test('bad policies are refused', () => {
  assert.throws(() => new Incident({ failureThreshold: 1.5, successThreshold: 1 }), RangeError);
  assert.throws(() => new Incident({ failureThreshold: 1, successThreshold: 1, remindEveryMs: -1 }), RangeError);
  assert.throws(() => new Incident({ failureThreshold: 1, successThreshold: 1, maxReminders: -1 }), RangeError);
});
