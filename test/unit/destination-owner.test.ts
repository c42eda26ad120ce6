/**
 * Several mailers on one database (mailer/delivery/destination-owner.ts): the
 * owner of a destination is chosen by rendezvous hashing over the live
 * mailers, the same whatever order each sees them in; the dispatcher hands a
 * grouping or rate-limited delivery whose destination another mailer owns to
 * it instead of sending, sends what it owns, keeps what was taken over here
 * and what a failed hand-over leaves, and never hands over a channel that is
 * neither grouping nor rate-limited.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Channel, RateLimit } from '../../mailer/delivery/channels/channel.ts';
import { DestinationOwner, destinationKey, type Owners, ownerOf } from '../../mailer/delivery/destination-owner.ts';
import { Dispatcher } from '../../mailer/delivery/dispatcher.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { createLogger } from '../../shared/logger.ts';
import { owners } from '../../shared/rendezvous.ts';
import { type SendResult, sent } from '../../shared/send-result.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const log = await createLogger({ name: 't', format: 'plain', level: 'error', out: new PassThrough(), err: new PassThrough() });
const FAST = { baseMs: 5, maxMs: 20, jitter: 0 };
const A = 'ch2-mailer host a pid 1 s0a0a0a';
const B = 'ch2-mailer host b pid 1 s0b0b0b';

function recorder(name: string, grouping: boolean, rateLimit?: RateLimit): Channel & { ids: string[] } {
  const ids: string[] = [];
  const record = async (items: readonly QueuedAlert[]): Promise<SendResult> => {
    ids.push(...items.map((i) => i.alert.id));
    return sent();
  };
  return { name, ids, ...(rateLimit ? { rateLimit } : {}), send: (item) => record([item]), ...(grouping ? { sendGroup: (items: readonly QueuedAlert[]) => record(items) } : {}) };
}

function alert(id: string, to: string): QueuedAlert {
  return { alert: { id, to, message: 'm', status: 'down' }, line: `To: ${to} Message: m`, via: 'json', receivedAt: Date.now() };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Recipients whose chat destination (grouping) each member owns: the first found of each. */
function recipientOwnedBy(member: string, channel = 'chat'): string {
  for (let i = 0; i < 1000; i++) {
    const to = `user${i}@work`;
    if (ownerOf(destinationKey({ channel, grouping: true, rateLimited: false, to })!, [A, B]) === member) return to;
  }
  throw new Error('no recipient found');
}

test('destination: a rate-limited channel is one destination; a grouping one is per recipient (lower-cased); any other has none', () => {
  assert.equal(destinationKey({ channel: 'slack', grouping: true, rateLimited: true, to: 'X@work' }), destinationKey({ channel: 'slack', grouping: true, rateLimited: true, to: 'y@work' }));
  assert.equal(destinationKey({ channel: 'mail', grouping: true, rateLimited: false, to: 'X@Work' }), destinationKey({ channel: 'mail', grouping: true, rateLimited: false, to: 'x@work' }));
  assert.notEqual(destinationKey({ channel: 'mail', grouping: true, rateLimited: false, to: 'x@work' }), destinationKey({ channel: 'mail', grouping: true, rateLimited: false, to: 'y@work' }));
  assert.notEqual(destinationKey({ channel: 'mail', grouping: true, rateLimited: false, to: 'x@work' }), destinationKey({ channel: 'mail2', grouping: true, rateLimited: false, to: 'x@work' }));
  assert.equal(destinationKey({ channel: 'log', grouping: false, rateLimited: false, to: 'x@work' }), undefined);
});

test('owner: rendezvous over the sorted members, the same in any order; both of two members own some; a member leaving moves only its own', () => {
  const members = [B, 'ch2-mailer host c pid 1 s0c0c0c', A];
  const sorted = [...members].sort();
  const won = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const key = `group\nmail\nuser${i}@work`;
    const owner = ownerOf(key, members);
    assert.equal(owner, sorted[owners(key, 3)[0]!], 'the rendezvous winner');
    assert.equal(ownerOf(key, [...members].reverse()), owner, 'whatever order the members are seen in');
    assert.equal(ownerOf(key, [...members, A]), owner, 'a name seen twice counts once');
    won.set(owner!, (won.get(owner!) ?? 0) + 1);
    // C leaves: what A or B owned stays theirs.
    if (owner !== members[1]) assert.equal(ownerOf(key, [A, B]), owner);
  }
  for (const m of members) assert.ok((won.get(m) ?? 0) > 30, `${m} owns a share (${won.get(m)} of 200)`);
  assert.equal(ownerOf('k', []), undefined);
});

test('decision: one member, unknown members, a channel with no destination, or a delivery taken over here: no hand-over', () => {
  let members: string[] | undefined;
  const o = new DestinationOwner({ me: A, members: () => members, handOver: async () => true });
  const toB = recipientOwnedBy(B);
  const d = { channel: 'chat', grouping: true, rateLimited: false, to: toB };
  assert.equal(o.elsewhere('x', d), undefined, 'members not known yet');
  members = [A];
  assert.equal(o.elsewhere('x', d), undefined, 'alone on the database');
  members = [A, B];
  assert.equal(o.elsewhere('x', d), B);
  assert.equal(o.elsewhere('x', { ...d, grouping: false }), undefined, 'neither grouping nor rate-limited');
  assert.equal(o.elsewhere('x', { ...d, to: recipientOwnedBy(A) }), undefined, 'owned here');
  o.received('x', ['chat']);
  assert.equal(o.elsewhere('x', d), undefined, 'taken over here: never handed on');
  assert.equal(o.elsewhere('y', d), B);
});

test('dispatcher: a grouping destination another mailer owns is handed over, not sent; its own are sent; a plain channel sends all; a failed hand-over is sent here', async () => {
  const handed: Array<[string, string, string]> = [];
  let answer = true;
  const fake: Owners = { me: A, members: () => [A, B], handOver: async (id, channel, to) => (handed.push([id, channel, to]), answer) };
  const chat = recorder('chat', true);
  const plain = recorder('log', false);
  const outbox = new MemoryOutbox();
  const d = new Dispatcher({ routes: [{ channel: chat, group: { waitMs: 10, intervalMs: 10 } }, { channel: plain }], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST, owner: new DestinationOwner(fake) });
  const mine = alert('mine', recipientOwnedBy(A));
  const theirs = alert('theirs', recipientOwnedBy(B));
  for (const item of [mine, theirs]) {
    await outbox.put(item, d.channelsFor(item.alert));
    d.submit(item);
  }
  await until(() => chat.ids.includes('mine') && plain.ids.length === 2);
  assert.deepEqual(handed, [['theirs', 'chat', B]], 'handed to its owner, on the grouping channel only');
  assert.deepEqual(chat.ids, ['mine'], 'not sent here');
  assert.deepEqual(plain.ids.sort(), ['mine', 'theirs'], 'the plain channel sends both, no hand-over');
  // The store could not hand it over: sent here after all.
  answer = false;
  const again = alert('again', recipientOwnedBy(B));
  await outbox.put(again, d.channelsFor(again.alert));
  d.submit(again);
  await until(() => chat.ids.includes('again'));
  assert.equal(handed.length, 2);
  await d.close();
});

test('dispatcher: a rate-limited channel has one owner for all its recipients', async () => {
  const handed: string[] = [];
  const fake: Owners = { me: A, members: () => [A, B], handOver: async (id) => (handed.push(id), true) };
  // A channel name whose (one) destination B owns.
  const name = Array.from({ length: 100 }, (_, i) => `slack${i}`).find((n) => ownerOf(destinationKey({ channel: n, grouping: false, rateLimited: true, to: '' })!, [A, B]) === B)!;
  const slack = recorder(name, false, { count: 1, perMs: 1000 });
  const outbox = new MemoryOutbox();
  const d = new Dispatcher({ channels: [slack], outbox, log, maxRetryAgeMs: 60_000, backoff: FAST, owner: new DestinationOwner(fake) });
  // Recipients A and B would each own on a grouping channel: here both go to the channel's owner.
  const items = [alert('r1', recipientOwnedBy(A, name)), alert('r2', recipientOwnedBy(B, name))];
  for (const item of items) {
    await outbox.put(item, d.channelNames);
    d.submit(item);
  }
  await until(() => handed.length === 2);
  assert.deepEqual(handed.sort(), ['r1', 'r2']);
  assert.deepEqual(slack.ids, [], 'nothing sent here');
  await d.close();
});
