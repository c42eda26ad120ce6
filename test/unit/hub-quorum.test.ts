/**
 * The ledger's rules (mailer/hub/quorum.ts), pure: with the default quorum of
 * 1 and one agent, its down and up go straight through; a second agent's down
 * joins, its up while another sees it down is held, the last down view's up
 * goes out; with --quorum 2 one down is held and the second makes the hub's
 * own down; a restarted opener's up ends the incident only when no other
 * agent sees it down; a report built before an alert does not undo it.
 * A property over random reports, alerts and drop-outs from 1 to 4 agents:
 * never an up to the channels while k live agents see the target down (k = 1:
 * while any does), at most one down told per outage, and an up only for a
 * down that was told.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type AgentAlert, decideAlert, decideSettle, downs, type LedgerState, openByHub, see, type Verdict } from '../../mailer/hub/quorum.ts';

const fresh = (): LedgerState => ({ views: new Map(), open: undefined });
const alert = (agent: string, status: 'up' | 'down', at: number, over: Partial<AgentAlert> = {}): AgentAlert => ({
  agent,
  instance: `${agent}-i1`,
  status,
  incident: `inc-${agent}`,
  reminder: false,
  at,
  ...over,
});
const report = (s: LedgerState, agent: string, state: 'up' | 'down' | 'unknown', at: number, instance = `${agent}-i1`): boolean =>
  see(s.views, agent, { instance, state, source: 'report', at });

test('quorum 1, one agent: its down opens the incident and goes through; its reminder and its up too', () => {
  const s = fresh();
  const down = decideAlert(s, alert('a', 'down', 1), 1);
  assert.deepEqual(down, { send: true, opens: { id: 'inc-a', opener: { agent: 'a', instance: 'a-i1' }, witnesses: ['a'] } });
  assert.deepEqual(decideAlert(s, alert('a', 'down', 2, { reminder: true }), 1), { send: true });
  assert.deepEqual(decideAlert(s, alert('a', 'up', 3), 1), { send: true, ends: 'inc-a' });
  assert.equal(s.open, undefined);
  // Its copy to a second recipient goes too; an up of nothing told does not.
  assert.deepEqual(decideAlert(s, alert('a', 'up', 3), 1), { send: true });
  assert.equal(decideAlert(s, alert('a', 'up', 4, { incident: 'inc-other' }), 1).send, false);
});

test("a second agent's down joins; its reminders are held; an up while another agent sees it down is held; the last one's up is the hub's on the incident", () => {
  const s = fresh();
  decideAlert(s, alert('a', 'down', 1), 1);
  assert.equal(decideAlert(s, alert('b', 'down', 2), 1).send, false);
  assert.equal(decideAlert(s, alert('b', 'down', 3, { reminder: true }), 1).send, false);
  assert.deepEqual(s.open?.witnesses, ['a', 'b']);
  const aUp = decideAlert(s, alert('a', 'up', 4), 1);
  assert.equal(aUp.send, false);
  assert.match((aUp as { why: string }).why, /still see it down/);
  const bUp = decideAlert(s, alert('b', 'up', 5), 1);
  assert.deepEqual(bUp, { send: false, why: 'the hub tells the up itself', hubUp: { incident: 'inc-a', by: ['a', 'b'] } });
  assert.equal(s.open, undefined);
});

test("an agent that never saw it down cannot end it: its up (a report or an alert) is held, and the incident stays open", () => {
  const s = fresh();
  decideAlert(s, alert('a', 'down', 1), 1);
  report(s, 'b', 'up', 2);
  assert.equal(decideSettle(s, 1), undefined);
  s.views.delete('a'); // a goes silent
  assert.equal(decideSettle(s, 1), undefined);
  assert.equal(s.open?.id, 'inc-a');
});

test("a restarted opener: its new instance's up ends the incident by the hub's up, but not while another agent sees it down", () => {
  const s = fresh();
  decideAlert(s, alert('a', 'down', 1), 1);
  decideAlert(s, alert('b', 'down', 2), 1);
  report(s, 'a', 'up', 3, 'a-i2');
  assert.equal(decideSettle(s, 1), undefined, 'b still sees it down');
  s.views.delete('b'); // b stops
  assert.deepEqual(decideSettle(s, 1), { incident: 'inc-a', by: ['a'] });
});

test('a report built before an alert does not undo it; a new instance starts its views again', () => {
  const s = fresh();
  decideAlert(s, alert('a', 'down', 10), 1);
  assert.equal(report(s, 'a', 'up', 11), false);
  assert.equal(s.views.get('a')?.state, 'down');
  assert.equal(decideSettle(s, 1), undefined);
  assert.equal(report(s, 'a', 'unknown', 5, 'a-i2'), true);
  assert.equal(s.views.get('a')?.state, 'unknown');
});

test('quorum 2 of three: one down is held; the second makes the hub down naming both; a third joins; one up ends it', () => {
  const s = fresh();
  assert.equal(decideAlert(s, alert('a', 'down', 1), 2).send, false);
  const second = decideAlert(s, alert('b', 'down', 2), 2);
  assert.deepEqual(second, { send: false, why: 'the hub tells the down itself', hubDown: ['a', 'b'] });
  openByHub(s, 'hub-1');
  assert.equal(decideAlert(s, alert('c', 'down', 3), 2).send, false);
  assert.equal(decideAlert(s, alert('c', 'up', 4), 2).send, false, 'a and b still agree');
  const up = decideAlert(s, alert('b', 'up', 5), 2);
  assert.deepEqual(up, { send: false, why: 'the hub tells the up itself', hubUp: { incident: 'hub-1', by: ['b', 'c'] } });
  assert.deepEqual(downs(s.views), ['a']);
});

type Step =
  | { kind: 'alert'; agent: number; status: 'up' | 'down'; reminder: boolean }
  | { kind: 'report'; agent: number; state: 'up' | 'down' | 'unknown' }
  | { kind: 'drop'; agent: number }
  | { kind: 'restart'; agent: number };

const step = (n: number): fc.Arbitrary<Step> =>
  fc.oneof(
    fc.record({ kind: fc.constant('alert' as const), agent: fc.nat(n - 1), status: fc.constantFrom('up' as const, 'down' as const), reminder: fc.boolean() }),
    fc.record({ kind: fc.constant('report' as const), agent: fc.nat(n - 1), state: fc.constantFrom('up' as const, 'down' as const, 'unknown' as const) }),
    fc.record({ kind: fc.constant('drop' as const), agent: fc.nat(n - 1) }),
    fc.record({ kind: fc.constant('restart' as const), agent: fc.nat(n - 1) }),
  );

const scenario = fc.integer({ min: 1, max: 4 }).chain((n) => fc.record({ n: fc.constant(n), quorum: fc.integer({ min: 1, max: n }), steps: fc.array(step(n), { maxLength: 60 }) }));

test('property: never an up to the channels while k live agents see it down; at most one down told per outage; an up only after a told down', () => {
  fc.assert(
    fc.property(scenario, ({ n, quorum, steps }) => {
      const s = fresh();
      // Each agent as it really is: its instance, whether it sees the target down, its incident id.
      const agents = Array.from({ length: n }, (_, i) => ({ name: `a${i}`, instance: 1, down: false, incident: 0 }));
      let told: 'down' | 'up' = 'up';
      let hubIds = 0;
      let at = 0;
      const channel = (what: 'down' | 'up'): void => {
        if (what === 'down') assert.equal(told, 'up', 'a second down told in one outage');
        else {
          assert.equal(told, 'down', 'an up with no down told');
          const seeing = downs(s.views).length;
          assert.ok(seeing < quorum, `an up told while ${seeing} live agents see it down (quorum ${quorum})`);
        }
        told = what;
      };
      const apply = (v: Verdict, status: 'up' | 'down', copyOfTold: boolean): void => {
        if (v.send) {
          if (!copyOfTold) channel(status);
        } else if (v.hubDown) {
          openByHub(s, `hub-${++hubIds}`);
          channel('down');
        } else if (v.hubUp) channel('up');
      };
      for (const st of steps) {
        at += 1;
        const a = agents[st.agent]!;
        const instance = `${a.name}-${a.instance}`;
        if (st.kind === 'drop') {
          s.views.delete(a.name);
          const up = decideSettle(s, quorum);
          if (up) channel('up');
        } else if (st.kind === 'restart') {
          a.instance += 1;
          a.down = false;
          see(s.views, a.name, { instance: `${a.name}-${a.instance}`, state: 'unknown', source: 'report', at });
          const up = decideSettle(s, quorum);
          if (up) channel('up');
        } else if (st.kind === 'report') {
          see(s.views, a.name, { instance, state: st.state, source: 'report', at });
          const up = decideSettle(s, quorum);
          if (up) channel('up');
        } else {
          // The agent's alerts follow its own state machine: a down opens its incident, reminders repeat it, an up ends it.
          const reminder = st.status === 'down' && a.down && st.reminder;
          if (st.status === 'down' && a.down && !reminder) continue;
          if (st.status === 'up' && !a.down) continue;
          if (st.status === 'down' && !a.down) a.incident += 1;
          a.down = st.status === 'down';
          const incident = `inc-${instance}-${a.incident}`;
          const wasOpen = s.open?.id;
          const v = decideAlert(s, { agent: a.name, instance, status: st.status, incident, reminder, at }, quorum);
          // A reminder or a copy that goes through tells nothing new.
          apply(v, st.status, v.send && st.status === 'down' && wasOpen === incident);
        }
      }
    }),
    { numRuns: 2000 },
  );
});
