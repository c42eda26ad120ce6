/**
 * The hub's incidents (mailer/hub/incident-book.ts), on injected times with
 * the store's writes collected: a down opens one, its copies to other
 * recipients and its reminders add events, its up closes it (resolvedAt from
 * the up's time, so its length is the outage's); an up without an incident
 * id closes its target's; a new incident on a target supersedes the one open;
 * the book's raw
 * alerts (via 'raw', no target) get target raw:<ip> and an incident each;
 * silenced alerts are marked so; the events of a long outage are capped.
 * Senders' incidents (alerts naming no target: raw:<ip>, json:<ip>), which
 * no up will close, close after an hour without alerts (sweep) and past 1,000
 * open (the one quiet longest first), saying why; through the hub (mock
 * timers) that is bookkeeping: no alert to any channel.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import type { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { StatusHub } from '../../mailer/hub/hub.ts';
import { IncidentBook, incidentOf, MAX_SENDER_INCIDENTS, SENDER_QUIET_MS } from '../../mailer/hub/incident-book.ts';
import type { Logger } from '../../shared/logger.ts';
import { MemoryOutbox } from '../support/memory-store.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { HubWrite, IncidentRow } from '../../mailer/hub/model.ts';
import type { Alert } from '../../shared/alert.ts';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const S = 1000;
const PEER = '::ffff:10.1.2.3:40412';
const iso = (ms: number): string => new Date(ms).toISOString();

/** A JSON alert from an agent about target web, seen at `at`, with incident inc-1 unless told. */
function json(id: string, status: 'down' | 'up', at: number, overrides: Partial<Alert> = {}): QueuedAlert {
  return {
    alert: { id, to: 'admin@work', message: `web is ${status}`, status, target: 'http://web/', incident: 'inc-1', time: iso(at), ...(status === 'down' ? { reason: 'HTTP 503' } : {}), ...overrides },
    line: `To: admin@work Message: web is ${status}`,
    via: 'json',
    receivedAt: at,
  };
}

/** The book's raw text: no target, no incident, no time. */
function raw(id: string, at: number): QueuedAlert {
  return { alert: { id, to: 'admin@work', message: 'The service is down!', status: 'down' }, line: 'To: admin@work  Message: The service is down!', via: 'raw', receivedAt: at };
}

function book(open: IncidentRow[] = []) {
  // Copied as written: the book goes on changing its rows (the store sends them at its next commit, as they are then).
  const writes: HubWrite[] = [];
  const b = new IncidentBook((w) => writes.push(structuredClone(w)), open);
  const incidentWrites = () => writes.flatMap((w) => (w.op === 'incident' ? [w.row] : []));
  return { b, writes, incidentWrites };
}

test('a down opens an incident: its id, target, times, message, reason, first recipient, events; written', () => {
  const { b, incidentWrites } = book();
  const changes = b.alert(json('a1', 'down', T0), PEER, false, T0 + 200);
  assert.deepEqual(changes.map((c) => c.kind), ['opened']);
  assert.deepEqual(changes[0]!.row, {
    id: 'inc-1',
    target: 'http://web/',
    state: 'open',
    openedAt: T0,
    resolvedAt: null,
    message: 'web is down',
    reason: 'HTTP 503',
    silenced: false,
    recipients: ['admin@work'],
    events: [
      { at: T0, kind: 'detected', text: 'down: HTTP 503' },
      { at: T0 + 200, kind: 'alert', text: 'alert a1 to admin@work' },
    ],
  });
  assert.equal(b.openOn('http://web/')?.id, 'inc-1');
  assert.equal(b.get('inc-1')?.state, 'open');
  assert.equal(b.openCount, 1);
  assert.deepEqual(incidentWrites().map((r) => [r.id, r.state]), [['inc-1', 'open']]);
});

test('an alert dated ahead of the hub (a fast agent clock) opens at its arrival, not in the future', () => {
  const { b } = book();
  const [opened] = b.alert(json('a1', 'down', T0 + 60 * S), PEER, false, T0);
  assert.equal(opened?.row.openedAt, T0);
});

test('copies to other recipients and reminders add events (and recipients) to the open incident; each change is written', () => {
  const { b, incidentWrites } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0);
  const copy = b.alert(json('a1-ops', 'down', T0, { to: 'ops@work' }), PEER, false, T0 + 10);
  assert.deepEqual(copy.map((c) => c.kind), ['updated']);
  const reminder = b.alert(json('a1-r1', 'down', T0 + 300 * S, { reminder: 1 }), PEER, false, T0 + 300 * S);
  assert.deepEqual(reminder.map((c) => c.kind), ['updated']);
  const row = b.get('inc-1')!;
  assert.deepEqual(row.recipients, ['admin@work', 'ops@work']);
  assert.deepEqual(row.events.slice(2), [
    { at: T0 + 10, kind: 'alert', text: 'alert a1-ops to ops@work' },
    { at: T0 + 300 * S, kind: 'reminder', text: 'reminder 1 a1-r1 to admin@work' },
  ]);
  assert.equal(row.openedAt, T0, 'a reminder does not move the opening');
  assert.equal(b.openCount, 1);
  assert.equal(incidentWrites().length, 3);
});

test('the up closes it: state closed, resolvedAt the up\'s time (its length is the outage), a resolved event; the book forgets it', () => {
  const { b, incidentWrites } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0 + 100);
  const changes = b.alert(json('a2', 'up', T0 + 95 * S, { message: 'web is up again' }), PEER, false, T0 + 95 * S + 100);
  assert.deepEqual(changes.map((c) => c.kind), ['closed']);
  const row = changes[0]!.row;
  assert.equal(row.state, 'closed');
  assert.equal(row.resolvedAt, T0 + 95 * S);
  assert.equal(row.resolvedAt! - row.openedAt, 95 * S, 'its length');
  assert.deepEqual(row.events.at(-1), { at: T0 + 95 * S + 100, kind: 'resolved', text: 'web is up again' });
  assert.equal(b.get('inc-1'), undefined);
  assert.equal(b.openOn('http://web/'), undefined);
  assert.equal(b.openCount, 0);
  assert.deepEqual(incidentWrites().at(-1)?.state, 'closed');
  // The same up again (or an up of an incident this hub never saw open) changes nothing.
  assert.deepEqual(b.alert(json('a3', 'up', T0 + 96 * S), PEER, false, T0 + 96 * S), []);
  assert.deepEqual(b.alert(json('x', 'up', T0, { incident: 'inc-unknown' }), PEER, false, T0), []);
});

test('an up dated before its down (clock skew) closes at the opening: length 0, never negative', () => {
  const { b } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0);
  const [closed] = b.alert(json('a2', 'up', T0 - 5 * S), PEER, false, T0 + S);
  assert.equal(closed?.row.resolvedAt, T0);
});

test('an up that names no incident (a JSON alert by hand) closes its target\'s incident', () => {
  const { b } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0);
  const up = json('by-hand', 'up', T0 + 60 * S);
  delete up.alert.incident;
  const changes = b.alert(up, PEER, false, T0 + 60 * S);
  assert.deepEqual(changes.map((c) => [c.kind, c.row.id]), [['closed', 'inc-1']]);
  assert.equal(b.openOn('http://web/'), undefined);
  // With no incident open on the target, it is nothing.
  const again = json('by-hand-2', 'up', T0 + 61 * S);
  delete again.alert.incident;
  assert.deepEqual(b.alert(again, PEER, false, T0 + 61 * S), []);
});

test('a second incident on the same target supersedes the first: closed at the new one\'s arrival, with a resolved event', () => {
  const { b, incidentWrites } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0);
  const changes = b.alert(json('b1', 'down', T0 + 600 * S, { incident: 'inc-2' }), PEER, false, T0 + 600 * S + 5);
  assert.deepEqual(changes.map((c) => [c.kind, c.row.id]), [['closed', 'inc-1'], ['opened', 'inc-2']]);
  const old = changes[0]!.row;
  assert.equal(old.resolvedAt, T0 + 600 * S + 5);
  assert.deepEqual(old.events.at(-1), { at: T0 + 600 * S + 5, kind: 'resolved', text: 'superseded by a new incident on the same target' });
  assert.equal(b.openOn('http://web/')?.id, 'inc-2');
  assert.equal(b.openCount, 1);
  assert.deepEqual(incidentWrites().map((r) => [r.id, r.state]), [['inc-1', 'open'], ['inc-1', 'closed'], ['inc-2', 'open']]);
  // The first's late up closes nothing; the second's closes it.
  assert.deepEqual(b.alert(json('a2', 'up', T0 + 700 * S), PEER, false, T0 + 700 * S), []);
  assert.equal(b.openOn('http://web/')?.id, 'inc-2');
});

test('raw alerts (no target, no incident id) get target raw:<ip> and an incident each; the next from the same peer supersedes it', () => {
  assert.deepEqual(incidentOf(raw('r1', T0), PEER), { id: 'raw-r1', target: 'raw:10.1.2.3' });
  assert.deepEqual(incidentOf(raw('r1', T0), '127.0.0.1:5000'), { id: 'raw-r1', target: 'raw:127.0.0.1' });
  assert.deepEqual(incidentOf(raw('r1', T0), '::1:5000'), { id: 'raw-r1', target: 'raw:::1' });
  const { b } = book();
  const [opened] = b.alert(raw('r1', T0), PEER, false, T0);
  assert.deepEqual({ id: opened?.row.id, target: opened?.row.target, openedAt: opened?.row.openedAt, reason: opened?.row.reason }, { id: 'raw-r1', target: 'raw:10.1.2.3', openedAt: T0, reason: null });
  assert.deepEqual(opened?.row.events.map((e) => e.kind), ['alert'], 'no time: no "detected" event');
  const second = b.alert(raw('r2', T0 + 30 * S), PEER, false, T0 + 30 * S);
  assert.deepEqual(second.map((c) => [c.kind, c.row.id]), [['closed', 'raw-r1'], ['opened', 'raw-r2']]);
  // Another peer's raw alerts are another target.
  b.alert(raw('r3', T0 + 31 * S), '10.9.9.9:1234', false, T0 + 31 * S);
  assert.equal(b.openCount, 2);
  assert.equal(b.openOn('raw:10.9.9.9')?.id, 'raw-r3');
});

test('a silenced alert: the incident is marked silenced with a silenced event; a silenced reminder says so', () => {
  const { b } = book();
  const [opened] = b.alert(json('a1', 'down', T0), PEER, true, T0);
  assert.equal(opened?.row.silenced, true);
  assert.deepEqual(opened?.row.events.at(-1), { at: T0, kind: 'silenced', text: 'a silence matched: held from the channels while it lasts' });
  b.alert(json('a1-r1', 'down', T0 + 300 * S, { reminder: 1 }), PEER, true, T0 + 300 * S);
  assert.deepEqual(b.get('inc-1')?.events.at(-1), { at: T0 + 300 * S, kind: 'reminder', text: 'reminder 1 a1-r1 to admin@work (silenced)' });
  const { b: other } = book();
  assert.equal(other.alert(json('a1', 'down', T0), PEER, false, T0)[0]?.row.silenced, false);
});

test('events are capped at 40: the first 20 and the latest 20 are kept through a long outage\'s reminders', () => {
  const { b } = book();
  b.alert(json('a1', 'down', T0), PEER, false, T0);
  for (let n = 1; n <= 500; n++) b.alert(json(`a1-r${n}`, 'down', T0 + n * 60 * S, { reminder: n }), PEER, false, T0 + n * 60 * S);
  const events = b.get('inc-1')!.events;
  assert.equal(events.length, 40);
  assert.deepEqual(events.slice(0, 2).map((e) => e.kind), ['detected', 'alert']);
  assert.equal(events[19]?.text, 'reminder 18 a1-r18 to admin@work');
  assert.equal(events[20]?.text, 'reminder 481 a1-r481 to admin@work');
  assert.equal(events.at(-1)?.text, 'reminder 500 a1-r500 to admin@work');
  // Its up still lands.
  b.alert(json('a2', 'up', T0 + 501 * 60 * S), PEER, false, T0 + 501 * 60 * S);
  assert.equal(b.openCount, 0);
});

test('a sender\'s alerts that name no incident join the one open on it (assign): a flood of raw text is one incident, its alerts past the first few counted in one event', () => {
  const { b } = book();
  const first = raw('r0', T0);
  b.assign(first, PEER, T0);
  assert.equal(first.hubIncident, undefined, 'nothing open yet: its own');
  b.alert(first, PEER, false, T0);
  for (let n = 1; n <= 100; n++) {
    const item = raw(`r${n}`, T0 + n * S);
    b.assign(item, PEER, T0 + n * S);
    assert.equal(item.hubIncident, 'raw-r0');
    const changes = b.alert(item, PEER, false, T0 + n * S);
    assert.deepEqual(changes.map((c) => [c.kind, c.row.id]), [['updated', 'raw-r0']]);
  }
  assert.equal(b.openCount, 1);
  const events = b.get('raw-r0')!.events;
  assert.ok(events.length <= 9, `the row stays small: ${events.length} events`);
  assert.equal(events.at(-1)?.more, 100 - (events.length - 2));
  assert.match(events.at(-1)!.text, /^\d+ more alerts, the last: alert r100 to admin@work$/);
  // Another sender's is another incident.
  const other = raw('x1', T0);
  b.assign(other, '10.9.9.9:1', T0);
  assert.equal(other.hubIncident, undefined);
});

test('incidents open in the store are loaded: an up after a mailer restart closes the one its down opened', () => {
  const open: IncidentRow = { id: 'inc-1', target: 'http://web/', state: 'open', openedAt: T0, resolvedAt: null, message: 'web is down', reason: 'HTTP 503', silenced: false, recipients: ['admin@work'], events: [] };
  const { b, writes } = book([open]);
  assert.equal(writes.length, 0);
  assert.equal(b.openOn('http://web/')?.id, 'inc-1');
  const [closed] = b.alert(json('a2', 'up', T0 + 3600 * S), PEER, false, T0 + 3600 * S);
  assert.deepEqual([closed?.kind, closed?.row.resolvedAt], ['closed', T0 + 3600 * S]);
});

const HOUR = 3600 * S;

/** A JSON alert by hand: no target, no incident. */
function byHand(id: string, at: number): QueuedAlert {
  return { alert: { id, to: 'admin@work', message: 'the backup failed', status: 'down' }, line: 'To: admin@work Message: the backup failed', via: 'json', receivedAt: at };
}

/** An alert as the hub admits it: assigned to the incident open on its sender, then kept. */
function admit(b: IncidentBook, item: QueuedAlert, peer: string, now: number) {
  b.assign(item, peer, now);
  return b.alert(item, peer, false, now);
}

test("a sender's incident (raw text, or JSON by hand naming no target) closes after an hour without alerts, at its last alert, saying so; an agent's stays open", () => {
  const { b, incidentWrites } = book();
  admit(b, raw('r1', T0), PEER, T0);
  admit(b, byHand('h1', T0), '10.9.9.9:5000', T0);
  admit(b, json('a1', 'down', T0), PEER, T0);
  admit(b, raw('r2', T0 + 30 * 60 * S), PEER, T0 + 30 * 60 * S);
  assert.equal(b.openCount, 3);
  assert.deepEqual(b.sweep(T0 + HOUR - 1), [], 'nothing is an hour quiet yet');
  const first = b.sweep(T0 + HOUR);
  assert.deepEqual(first.map((c) => [c.kind, c.row.id, c.row.target, c.closedBy]), [['closed', 'json-h1', 'json:10.9.9.9', 'quiet']]);
  assert.equal(first[0]!.row.resolvedAt, T0, 'closed at its last alert');
  assert.deepEqual(first[0]!.row.events.at(-1), { at: T0 + HOUR, kind: 'resolved', text: 'closed: no alert from its sender for 1 h (no up is sent)' });
  assert.deepEqual(incidentWrites().at(-1)?.state, 'closed', 'written');
  assert.equal(b.openOn('raw:10.1.2.3')?.id, 'raw-r1', 'its last alert came half an hour later');
  const second = b.sweep(T0 + 30 * 60 * S + SENDER_QUIET_MS);
  assert.deepEqual(second.map((c) => [c.row.id, c.closedBy, c.row.resolvedAt]), [['raw-r1', 'quiet', T0 + 30 * 60 * S]]);
  assert.equal(b.openOn('http://web/')?.id, 'inc-1', "an agent's incident waits for its up");
  assert.equal(b.openCount, 1);
  assert.deepEqual(b.sweep(T0 + 100 * HOUR), []);
  // The sender's next alert opens a new incident.
  const next = raw('r3', T0 + 2 * HOUR);
  assert.deepEqual(admit(b, next, PEER, T0 + 2 * HOUR).map((c) => [c.kind, c.row.id]), [['opened', 'raw-r3']]);
  assert.equal(next.hubIncident, undefined);
});

test("an alert assigned to a sender's incident keeps it open until it is in (the sweep may come between)", () => {
  const { b } = book();
  admit(b, raw('r1', T0), PEER, T0);
  const late = raw('r2', T0 + HOUR);
  b.assign(late, PEER, T0 + HOUR);
  assert.equal(late.hubIncident, 'raw-r1');
  assert.deepEqual(b.sweep(T0 + HOUR), [], 'it has an alert joining it');
  assert.deepEqual(b.alert(late, PEER, false, T0 + HOUR + 5).map((c) => [c.kind, c.row.id]), [['updated', 'raw-r1']]);
  assert.equal(b.get('raw-r1')?.openedAt, T0);
});

test(`at most ${MAX_SENDER_INCIDENTS} senders' incidents are open: one more closes the one quiet longest (cap); agents' incidents are not counted`, () => {
  const { b } = book();
  admit(b, json('a1', 'down', T0), PEER, T0);
  const peer = (n: number): string => `[2001:db8::${n.toString(16)}]:4000`.replace(/^\[|\](?=:)/g, '');
  for (let n = 0; n < MAX_SENDER_INCIDENTS; n++) admit(b, raw(`r${n}`, T0 + n), peer(n), T0 + n);
  assert.equal(b.openCount, MAX_SENDER_INCIDENTS + 1);
  // The first sender speaks again: the second is now the one quiet longest.
  admit(b, raw('r0-again', T0 + 5000), peer(0), T0 + 5000);
  const changes = admit(b, raw('new', T0 + 6000), peer(99_999), T0 + 6000);
  assert.deepEqual(changes.map((c) => [c.kind, c.row.id, c.closedBy]), [['closed', 'raw-r1', 'cap'], ['opened', 'raw-new', undefined]]);
  assert.equal(changes[0]!.row.resolvedAt, T0 + 1, 'closed at its last alert');
  assert.match(changes[0]!.row.events.at(-1)!.text, /^closed: 1000 incidents of senders open, the one quiet longest closes \(no up is sent\)$/);
  assert.equal(b.openCount, MAX_SENDER_INCIDENTS + 1);
  assert.equal(b.get('raw-r0')?.state, 'open');
  assert.equal(b.get('inc-1')?.state, 'open');
});

test("senders' incidents loaded from the store close an hour after their last event; past the cap the quietest close at the next sweep", () => {
  const row = (id: string, target: string, last: number): IncidentRow => ({
    id, target, state: 'open', openedAt: T0, resolvedAt: null, message: 'm', reason: null, silenced: false, recipients: ['admin@work'],
    events: [{ at: T0, kind: 'alert', text: 'alert' }, ...(last > T0 ? [{ at: last, kind: 'alert' as const, text: '3 more alerts' }] : [])],
  });
  const { b } = book([row('raw-b', 'raw:10.0.0.2', T0 + HOUR), row('raw-a', 'raw:10.0.0.1', T0), row('inc-1', 'http://web/', T0)]);
  assert.deepEqual(b.sweep(T0 + HOUR).map((c) => [c.row.id, c.closedBy]), [['raw-a', 'quiet']]);
  assert.deepEqual(b.sweep(T0 + 2 * HOUR).map((c) => [c.row.id, c.closedBy]), [['raw-b', 'quiet']]);
  assert.equal(b.openCount, 1);
  const many = Array.from({ length: MAX_SENDER_INCIDENTS + 2 }, (_, n) => row(`raw-${n}`, `raw:10.1.${n >> 8}.${n & 255}`, T0 + n));
  const { b: full } = book(many.reverse());
  assert.deepEqual(full.sweep(T0 + 10).map((c) => [c.row.id, c.closedBy]), [['raw-0', 'cap'], ['raw-1', 'cap']]);
  assert.equal(full.openCount, MAX_SENDER_INCIDENTS);
});

test("through the hub: a sender's incident closes an hour after its last alert, every minute's sweep, and no alert goes to any channel", async (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setInterval'], now: T0 });
  const store = new MemoryOutbox();
  const lines: string[] = [];
  const log: Logger = { debug: (m) => void lines.push(m), info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m), output() {} };
  const hub = new StatusHub({ store, snapshot: await store.hubLoad(), registry: new AgentRegistry({ log }), silence: {} as AgentSilence, log });
  t.after(() => hub.close());
  const admitted: unknown[] = [];
  hub.bind({ admitJson: async (req) => (admitted.push(req), { ok: true, id: 'x', duplicate: false }) as never });
  const events: string[] = [];
  hub.subscribe((e) => e.type === 'incident' && events.push(`${e.data.id} ${e.data.state}`));
  const item = raw('r1', T0);
  hub.beforeKeep(item, PEER);
  hub.admitted(item, PEER, false);
  assert.equal(hub.incidents.openOn('raw:10.1.2.3')?.id, 'raw-r1');
  t.mock.timers.tick(HOUR - 1);
  assert.equal(hub.incidents.openCount, 1);
  t.mock.timers.tick(60 * S);
  assert.equal(hub.incidents.openCount, 0, 'closed at the first sweep past the hour');
  assert.deepEqual(events, ['raw-r1 open', 'raw-r1 closed'], 'the page is told');
  assert.deepEqual(admitted, [], 'no up to any channel');
  assert.match(lines.join('\n'), /incident raw-r1 of raw:10\.1\.2\.3 closed: no alert from its sender for an hour \(no up is sent\)/);
});
