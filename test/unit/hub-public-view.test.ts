/**
 * The public view, made in one place (mailer/hub/hub-view.ts) for every
 * renderer: an incident read by the public has no recipient (alert,
 * reminder and counted events say only what they were), no delivery error,
 * no alert id (its own id, which for a hand-made alert holds the alert's,
 * is a stable digest, as in the event stream's incident events), and the
 * page's view has no dead letters; the token holder's view keeps them all.
 * The page renders what it is given (render-incidents.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusHub } from '../../mailer/hub/hub.ts';
import { hubEvent, StatusViews } from '../../mailer/hub/hub-view.ts';
import type { HubStorage, IncidentRecord } from '../../mailer/hub/model.ts';
import { renderIncidentList } from '../../mailer/hub/page/render-page.ts';

const RECORD: IncidentRecord = {
  id: 'json-alert-7f3a',
  target: 'http://shop/',
  state: 'open',
  openedAt: 1_000,
  resolvedAt: null,
  message: 'http://shop/ is down',
  reason: 'connection refused',
  silenced: false,
  recipients: ['oncall@secure.test'],
  events: [
    { at: 1_000, kind: 'detected', text: 'down: connection refused' },
    { at: 1_001, kind: 'alert', text: 'alert alert-7f3a to oncall@secure.test' },
    { at: 1_002, kind: 'reminder', text: 'reminder 1 alert-7f3a-r1 to oncall@secure.test' },
    { at: 1_003, kind: 'alert', text: '3 more alerts, the last: alert alert-9 to oncall@secure.test', more: 3 },
  ],
  deliveries: [{ incident: 'json-alert-7f3a', alertId: 'alert-7f3a', channel: 'webhook', state: 'pending', attempts: 2, error: 'getaddrinfo ENOTFOUND hooks.internal.corp', at: 1_004 }],
};

const store: HubStorage = {
  incidents: async () => [structuredClone(RECORD)],
  list: async () => ({ alerts: [{ id: 'dead-1', alert: { message: 'm' }, receivedAt: 'x', channels: { smtp: { state: 'dead', error: 'relay for oncall@secure.test denied' } } }] }),
} as unknown as HubStorage;
const hub = { targets: { all: () => [][Symbol.iterator]() }, silences: { list: () => [], matching: () => undefined }, registry: { list: () => [] } } as unknown as StatusHub;

test('the public view of an incident: no recipient, error text or alert id; the token holder\'s keeps them', async () => {
  const views = new StatusViews(hub, store, () => 2_000);
  const [pub] = await views.incidents({ state: 'open', limit: 1 }, 'public');
  const text = JSON.stringify(pub);
  for (const secret of ['oncall@secure.test', 'alert-7f3a', 'alert-9', 'ENOTFOUND', 'hooks.internal']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
  assert.deepEqual(pub!.events.map((e) => e.text), ['down: connection refused', 'an alert', 'a reminder', '3 more alerts']);
  assert.deepEqual(pub!.deliveries, [{ channel: 'webhook', state: 'retrying', attempts: 2, at: new Date(1_004).toISOString() }]);
  assert.match(pub!.id, /^i-[0-9a-f]{24}$/);
  const [again] = await views.incidents({ state: 'open', limit: 1 }, 'public');
  assert.equal(again!.id, pub!.id, 'the same digest on every render: the live page follows it');
  assert.deepEqual(hubEvent({ type: 'incident', data: { id: RECORD.id, target: RECORD.target, state: 'open' } }, 'public')?.data, { id: pub!.id, target: RECORD.target, state: 'open' });
  const html = renderIncidentList([pub!], 2_000, false);
  assert.ok(!html.includes('oncall@') && !html.includes('alert-7f3a') && !html.includes('last error'), html);

  const [all] = await views.incidents({ state: 'open', limit: 1 }, 'all');
  assert.equal(all!.id, RECORD.id);
  assert.equal(all!.deliveries[0]!.alertId, 'alert-7f3a');
  assert.match(all!.deliveries[0]!.error!, /ENOTFOUND/);
  assert.match(all!.events[1]!.text, /oncall@secure\.test/);
  assert.match(renderIncidentList([all!], 2_000, true), /alert <code>alert-7f3a<\/code>.*last error/);
});

test('the public page view has no dead letters (their reasons are channel errors); the token holder\'s has them', async () => {
  const views = new StatusViews(hub, store, () => 2_000);
  assert.deepEqual((await views.status('public')).deadLetters, []);
  assert.equal((await views.status('all')).deadLetters.length, 1);
});
