/**
 * Silences (mailer/hub/silences.ts), on injected times: parseSilence with good
 * and bad inputs (POST /api/v1/silences and the page's form), and a fast-check
 * property that it never throws and that garbage always gives {ok: false,
 * error} with a one-line reason; Silences matching by glob, the start and end
 * boundaries, expiry by the clock alone, remove, and MAX_SILENCES. Then
 * durability, through the routes (hub-routes.ts) on a SQLite store: each
 * answer to a silence added or removed (the API's 201 and 200, the forms'
 * redirect) is written only after the commit that holds it, counted in the
 * store's health(), and synced; a silence the store cannot write is a 503
 * and never in force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { Access } from '../../mailer/hub/access.ts';
import type { AgentSilence } from '../../mailer/hub/agent-silence.ts';
import { AgentRegistry } from '../../mailer/hub/agents.ts';
import type { EventStreams } from '../../mailer/hub/event-stream.ts';
import { StatusHub } from '../../mailer/hub/hub.ts';
import { PageRoutes } from '../../mailer/hub/hub-routes.ts';
import type { StatusViews } from '../../mailer/hub/hub-view.ts';
import { MAX_SILENCES, parseSilence, Silences } from '../../mailer/hub/silences.ts';
import type { HubWrite, SilenceRow } from '../../mailer/hub/model.ts';
import { SqliteStore } from '../../mailer/store/sqlite-store.ts';
import type { Store, StoreHealth } from '../../mailer/store/store.ts';
import { createLogger } from '../../shared/logger.ts';
import { MemoryOutbox } from '../support/memory-store.ts';

const NOW = Date.UTC(2026, 2, 1, 9, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

test('parseSilence: a glob for a duration, until a date, from a later start; target trimmed, comment kept', () => {
  assert.deepEqual(parseSilence({ target: ' web-* ', for: '2h', comment: 'deploy' }, NOW), { ok: true, value: { target: 'web-*', startsAt: NOW, until: NOW + 2 * HOUR, comment: 'deploy' } });
  assert.deepEqual(parseSilence({ target: 'db', until: iso(NOW + 30 * MIN) }, NOW), { ok: true, value: { target: 'db', startsAt: NOW, until: NOW + 30 * MIN, comment: '' } });
  assert.deepEqual(parseSilence({ target: 'db', startsAt: iso(NOW + DAY), for: '30m' }, NOW), { ok: true, value: { target: 'db', startsAt: NOW + DAY, until: NOW + DAY + 30 * MIN, comment: '' } });
  // The page's form sends every field, the unused ones empty.
  assert.deepEqual(parseSilence({ target: 'agent:box-1', for: '', until: iso(NOW + HOUR), comment: '', startsAt: '' }, NOW), { ok: true, value: { target: 'agent:box-1', startsAt: NOW, until: NOW + HOUR, comment: '' } });
  // The longest: 366 days.
  assert.equal(parseSilence({ target: '*', for: '366d' }, NOW).ok, true);
  assert.equal(parseSilence({ target: 'x'.repeat(256), for: '1m', comment: 'c'.repeat(1024) }, NOW).ok, true);
});

test('parseSilence: each bad input is refused with its reason', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /must be an object/],
    ['web for 2h', /must be an object/],
    [[{ target: 'web', for: '2h' }], /must be an object/],
    [{ target: 'web', for: '2h', colour: 'red' }, /^unknown field "colour"$/],
    [{ for: '2h' }, /^target must be a glob of 1 to 256 printable characters/],
    [{ target: '   ', for: '2h' }, /^target must be/],
    [{ target: 'x'.repeat(257), for: '2h' }, /^target must be/],
    [{ target: 'web\nX-Injected: 1', for: '2h' }, /^target must be/],
    [{ target: 42, for: '2h' }, /^target must be/],
    [{ target: 'web', for: '2h', comment: 7 }, /^comment must be a string$/],
    [{ target: 'web', for: '2h', comment: 'c'.repeat(1025) }, /^comment must be at most 1024 characters$/],
    [{ target: 'web', for: '2h', startsAt: 'tomorrow-ish' }, /^startsAt must be an ISO 8601 date$/],
    [{ target: 'web', for: '2h', startsAt: 12 }, /^startsAt must be an ISO 8601 date$/],
    [{ target: 'web' }, /^give either until .* or for/],
    [{ target: 'web', for: '2h', until: iso(NOW + HOUR) }, /^give either until .* or for/],
    [{ target: 'web', until: 'soon' }, /^until must be an ISO 8601 date$/],
    [{ target: 'web', until: NOW + HOUR }, /^until must be an ISO 8601 date$/],
    [{ target: 'web', for: 'a while' }, /^for must be a duration such as 30m or 2h$/],
    [{ target: 'web', for: '0s' }, /^for must be a duration/],
    [{ target: 'web', for: 7200 }, /^for must be a duration/],
    [{ target: 'web', until: iso(NOW - MIN) }, /^until is in the past$/],
    [{ target: 'web', until: iso(NOW) }, /^until is in the past$/],
    [{ target: 'web', startsAt: iso(NOW + 2 * HOUR), until: iso(NOW + HOUR) }, /^until must come after startsAt$/],
    [{ target: 'web', for: '367d' }, /^a silence lasts at most 366 days$/],
    [{ target: 'web', startsAt: iso(NOW - DAY), until: iso(NOW + 366 * DAY) }, /^a silence lasts at most 366 days$/],
  ];
  for (const [input, reason] of cases) {
    const parsed = parseSilence(input, NOW);
    assert.equal(parsed.ok, false, JSON.stringify(input));
    if (!parsed.ok) assert.match(parsed.error, reason, JSON.stringify(input));
  }
});

test('parseSilence: matchers in the routes\' language (targets, to, status, channels), with or without a target glob; bad ones refused with the reason', () => {
  assert.deepEqual(parseSilence({ match: { channels: ['slack'], status: ['down'] }, for: '2h' }, NOW), {
    ok: true,
    value: { target: '', startsAt: NOW, until: NOW + 2 * HOUR, comment: '', match: { channels: ['slack'], status: ['down'] } },
  });
  assert.deepEqual(parseSilence({ target: 'web-*', match: { to: [' *@ops.example '] }, for: '1h' }, NOW), {
    ok: true,
    value: { target: 'web-*', startsAt: NOW, until: NOW + HOUR, comment: '', match: { to: ['*@ops.example'] } },
  });
  const cases: Array<[unknown, RegExp]> = [
    [{ match: 'web', for: '2h' }, /^match must be an object/],
    [{ match: {}, for: '2h' }, /^match must name at least one of targets, to, status, channels$/],
    [{ match: { labels: ['x'] }, for: '2h' }, /^match: unknown field "labels"; known: targets, to, status, channels$/],
    [{ match: { channels: [] }, for: '2h' }, /^match\.channels must be a list of 1 to 32 globs/],
    [{ match: { channels: 'slack' }, for: '2h' }, /^match\.channels must be a list/],
    [{ match: { targets: ['a\nb'] }, for: '2h' }, /^match\.targets must be a list/],
    [{ match: { status: ['firing'] }, for: '2h' }, /^match\.status must list down or up$/],
    [{ match: { channels: ['slack'] }, target: '  ', for: '2h' }, /^target must be/],
  ];
  for (const [input, reason] of cases) {
    const parsed = parseSilence(input, NOW);
    assert.equal(parsed.ok, false, JSON.stringify(input));
    if (!parsed.ok) assert.match(parsed.error, reason, JSON.stringify(input));
  }
});

const isOneLine = (s: string): boolean => s.length > 0 && s.length <= 200 && !/[\r\n]/.test(s);
const FIELDS = ['target', 'until', 'for', 'comment', 'startsAt'] as const;

test('property: parseSilence never throws; an error is one line; an accepted silence is sane', () => {
  const fieldValue = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('2h', '30m', '0s', '-1h', '1e308d', 'NaN', iso(NOW + HOUR), iso(NOW - HOUR), ''), fc.anything());
  const input = fc.oneof(
    fc.anything(),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string(), fc.string({ unit: 'binary' })), fieldValue),
    fc.record({ target: fieldValue, until: fieldValue, for: fieldValue, comment: fieldValue, startsAt: fieldValue }, { requiredKeys: [] }),
  );
  fc.assert(
    fc.property(input, fc.integer({ min: 0, max: 4e12 }), (data, now) => {
      const parsed = parseSilence(data, now);
      if (!parsed.ok) {
        assert.equal(typeof parsed.error, 'string');
        assert.ok(isOneLine(parsed.error), parsed.error);
        return;
      }
      const { target, startsAt, until, comment } = parsed.value;
      assert.ok((target.length >= 1 || parsed.value.match !== undefined) && target.length <= 256 && !/[\x00-\x1f\x7f]/.test(target));
      assert.ok(Number.isFinite(startsAt) && Number.isFinite(until) && until > now && until > startsAt && until - startsAt <= 366 * DAY);
      assert.ok(typeof comment === 'string' && comment.length <= 1024);
    }),
    { numRuns: 2000 },
  );
});

test('property: garbage (not an object, an unknown field, or a field of the wrong type) always gives {ok: false, error}', () => {
  const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object());
  const garbage = fc.oneof(
    fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.anything())),
    fc
      .tuple(fc.oneof(fc.string({ minLength: 1 }), fc.string({ unit: 'binary', minLength: 1 })).filter((k) => !(FIELDS as readonly string[]).includes(k)), fc.anything())
      .map(([k, v]) => ({ target: 'web', for: '2h', [k]: v })),
    fc.tuple(fc.constantFrom('target', 'until', 'for', 'startsAt'), notString).map(([k, v]) => ({ target: 'web', ...(k === 'until' ? {} : { for: '2h' }), [k]: v })),
  );
  fc.assert(
    fc.property(garbage, (data) => {
      const parsed = parseSilence(data, NOW);
      assert.equal(parsed.ok, false, JSON.stringify(data));
      if (!parsed.ok) assert.ok(isOneLine(parsed.error), parsed.error);
    }),
    { numRuns: 2000 },
  );
});

function silences(rows: SilenceRow[] = []) {
  const writes: HubWrite[] = [];
  return { s: new Silences(async (w) => void writes.push(w), rows), writes };
}

const value = (target: string, startsAt: number, until: number, comment = ''): Omit<SilenceRow, 'id' | 'createdAt'> => ({ target, startsAt, until, comment });

test('matching by glob: * any run of characters, ? one; agent:<name> and raw:<ip> too; the first in force is returned', async () => {
  const { s, writes } = silences();
  const web = await s.add(value('web-*', NOW, NOW + HOUR, 'deploy'), NOW);
  assert.ok(typeof web !== 'string');
  assert.deepEqual(writes, [{ op: 'silence', row: web }]);
  assert.equal(web.createdAt, NOW);
  assert.match(web.id, /^[0-9a-f-]{36}$/);
  await s.add(value('agent:box-?', NOW, NOW + HOUR), NOW);
  await s.add(value('raw:10.0.0.*', NOW, NOW + HOUR), NOW);
  assert.equal(s.matching('web-1', NOW)?.id, web.id);
  assert.equal(s.matching('web-', NOW)?.id, web.id);
  assert.equal(s.matching('http://web-1/', NOW), undefined, 'the glob matches the whole name');
  assert.equal(s.matching('db-1', NOW), undefined);
  assert.ok(s.matching('agent:box-7', NOW));
  assert.equal(s.matching('agent:box-17', NOW), undefined);
  assert.ok(s.matching('raw:10.0.0.42', NOW));
  assert.equal(s.matching('raw:10.0.1.42', NOW), undefined);
});

test('muting at send time: one matcher language (target glob, targets, to, status, channels); raw alerts by their sender; the page\'s "silenced" only for a silence on the whole target', async () => {
  const { s } = silences();
  const down = { id: 'a1', to: 'Admin@Work', message: 'm', status: 'down' as const, target: 'web-1' };
  const q = (alert: typeof down | Omit<typeof down, 'target'>, channel: string | undefined, target = (alert as typeof down).target) => s.muting({ alert, target, channel }, NOW)?.comment;
  await s.add({ ...value('', NOW, NOW + HOUR, 'slack downs'), match: { channels: ['slack*'], status: ['down'] } }, NOW);
  await s.add({ ...value('db-*', NOW, NOW + HOUR, 'db for ops'), match: { to: ['*@ops.example'] } }, NOW);
  await s.add(value('raw:10.0.0.*', NOW, NOW + HOUR, 'raw'), NOW);
  assert.equal(q(down, 'slack-2'), 'slack downs');
  assert.equal(q(down, 'smtp'), undefined, 'another channel');
  assert.equal(q({ ...down, status: 'up' as never }, 'slack'), undefined, 'an up');
  assert.equal(q(down, undefined), undefined, 'a channel matcher does not hold without a channel');
  assert.equal(q({ ...down, target: 'db-1' }, 'smtp'), undefined, 'the glob and the matcher must both hold');
  assert.equal(q({ ...down, target: 'db-1', to: 'pager@OPS.example' }, 'smtp'), 'db for ops');
  const { target: _, ...raw } = down;
  assert.equal(q(raw, 'smtp', 'raw:10.0.0.7'), 'raw', 'a raw alert by its sender');
  assert.equal(q(raw, 'smtp', undefined), undefined);
  assert.equal(s.matching('web-1', NOW), undefined, 'a silence of some channels does not mark the target silenced');
  assert.equal(s.matching('db-1', NOW), undefined);
  assert.equal(s.matching('raw:10.0.0.7', NOW)?.comment, 'raw');
});

test('each silence added or removed is signalled (the dispatcher looks again at what it holds); an expiry is not', async () => {
  const { s } = silences();
  let signals = 0;
  s.onChange(() => (signals += 1));
  const row = await s.add(value('web', NOW, NOW + HOUR), NOW);
  await s.add(value('db', NOW, NOW + HOUR), NOW);
  assert.ok(typeof row !== 'string');
  assert.equal(signals, 2);
  await s.remove(row.id);
  await s.remove(row.id);
  assert.equal(signals, 3, 'one removal, one signal');
  s.list(NOW + 2 * HOUR);
  assert.equal(signals, 3, 'the clock ends a silence without a signal (the mute stage has a timer)');
});

test('start and end boundaries: in force from startsAt (inclusive) until `until` (exclusive)', async () => {
  const { s } = silences();
  await s.add(value('web', NOW + HOUR, NOW + 2 * HOUR), NOW);
  assert.equal(s.matching('web', NOW + HOUR - 1), undefined, 'a millisecond before its start');
  assert.ok(s.matching('web', NOW + HOUR), 'at its start');
  assert.ok(s.matching('web', NOW + 2 * HOUR - 1), 'its last millisecond');
  assert.equal(s.matching('web', NOW + 2 * HOUR), undefined, 'at its end');
  assert.deepEqual(s.list(NOW).map((r) => r.target), ['web'], 'a silence yet to start is listed');
});

test('expiry by the clock alone: an ended silence stops matching with no call, and list() forgets it without a write', async () => {
  const { s, writes } = silences();
  await s.add(value('web', NOW, NOW + HOUR), NOW);
  await s.add(value('db', NOW, NOW + 3 * HOUR), NOW);
  await s.add(value('mq', NOW, NOW + 2 * HOUR), NOW);
  assert.equal(s.matching('web', NOW + HOUR), undefined);
  assert.ok(s.matching('db', NOW + HOUR));
  assert.deepEqual(s.list(NOW).map((r) => r.target), ['web', 'mq', 'db'], 'soonest end first');
  assert.deepEqual(s.list(NOW + HOUR).map((r) => r.target), ['mq', 'db']);
  assert.equal(writes.length, 3, 'the store forgets expired silences itself: no unsilence');
});

test('remove: true and an unsilence write for a known id; false and no write for an unknown one', async () => {
  const { s, writes } = silences();
  const row = await s.add(value('web', NOW, NOW + HOUR), NOW);
  assert.ok(typeof row !== 'string');
  assert.equal(await s.remove(row.id), true);
  assert.deepEqual(writes.at(-1), { op: 'unsilence', id: row.id });
  assert.equal(s.matching('web', NOW), undefined);
  assert.equal(await s.remove(row.id), false);
  assert.equal(await s.remove('no-such-id'), false);
  assert.equal(writes.length, 2);
});

test('silences kept in the store are loaded and match', () => {
  const { s } = silences([{ id: 'kept-1', target: 'web*', startsAt: NOW - HOUR, until: NOW + HOUR, comment: 'from before', createdAt: NOW - HOUR }]);
  assert.equal(s.matching('web', NOW)?.id, 'kept-1');
});

test(`at most MAX_SILENCES (${MAX_SILENCES}) at once: one more is refused with a reason, and taken once one has ended`, async () => {
  const { s, writes } = silences();
  for (let i = 0; i < MAX_SILENCES; i++) assert.equal(typeof (await s.add(value(`t-${i}`, NOW, NOW + (i === 0 ? MIN : DAY)), NOW)), 'object');
  const refused = await s.add(value('one-more', NOW, NOW + DAY), NOW + 1);
  assert.equal(refused, `at most ${MAX_SILENCES} silences at once`);
  assert.equal(writes.length, MAX_SILENCES);
  assert.equal(s.matching('one-more', NOW + 1), undefined);
  // The first ends after a minute: there is room again.
  const taken = await s.add(value('one-more', NOW + MIN, NOW + DAY), NOW + MIN);
  assert.equal(typeof taken, 'object');
  assert.ok(s.matching('one-more', NOW + MIN));
});

test('a silence the store cannot write is never in force, and one it cannot remove stays', async () => {
  let fail = false;
  const s = new Silences(async () => {
    if (fail) throw new Error('database or disk is full');
  });
  const kept = await s.add(value('db', NOW, NOW + HOUR), NOW);
  assert.ok(typeof kept !== 'string');
  fail = true;
  await assert.rejects(s.add(value('web', NOW, NOW + HOUR), NOW), /disk is full/);
  assert.equal(s.matching('web', NOW), undefined);
  assert.deepEqual(s.list(NOW).map((r) => r.target), ['db']);
  await assert.rejects(s.remove(kept.id), /disk is full/);
  assert.equal(s.matching('db', NOW)?.id, kept.id);
});

const quiet = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });

/** The page's routes on a real server for `store`; each answer's status with the store's health when it was written. */
async function routesOn(store: Store) {
  const hub = new StatusHub({ store, snapshot: await store.hubLoad(), registry: new AgentRegistry({ log: quiet }), silence: {} as AgentSilence, log: quiet });
  const access = new Access(undefined, false);
  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const routes = new PageRoutes({ hub, views: {} as StatusViews, streams: {} as EventStreams, access, log: quiet, readBody });
  const answers: Array<{ status: number } & StoreHealth> = [];
  const server = createServer((req, res: ServerResponse) => {
    const writeHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: never[]) => (answers.push({ status, ...store.health() }), writeHead(status, ...rest))) as typeof res.writeHead;
    const url = new URL(req.url ?? '/', 'http://x');
    void routes.serve(req, res, url.pathname, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const csrf = access.csrfFor({ headers: {} } as IncomingMessage);
  const form = (path: string, fields: Record<string, string>) =>
    fetch(base + path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, csrf }).toString() });
  const postJson = (body: unknown) => fetch(`${base}/api/v1/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { hub, base, answers, form, postJson, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('each answer to a silence added or removed (201, 200, the forms\' 303) is written after its commit and sync; the silences survive a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-silence-test-'));
  const { store } = await SqliteStore.open({ dir, log: quiet, dedupeWindowMs: DAY });
  const r = await routesOn(store);
  let again: SqliteStore | undefined;
  t.after(async () => {
    await r.close();
    await store.close();
    await again?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** The answer to `request`, and whether a commit and a sync came between the request and that answer. */
  const answered = async (request: () => Promise<Response>, status: number): Promise<void> => {
    const before = store.health();
    const response = await request();
    await response.arrayBuffer();
    assert.equal(response.status, status);
    const at = r.answers.at(-1)!;
    assert.equal(at.status, status);
    assert.equal(at.commits, before.commits + 1, `${status}: written after the commit that holds the write`);
    assert.ok(at.syncs > before.syncs, `${status}: and after its sync`);
  };
  let id = '';
  await answered(async () => {
    const response = await r.postJson({ target: 'web-*', for: '2h', comment: 'deploy' });
    id = ((await response.clone().json()) as { id: string }).id;
    return response;
  }, 201);
  await answered(() => r.form('/silences', { target: 'db', for: '1h', until: '', comment: '' }), 303);
  const db = r.hub.silences.list(Date.now()).find((x) => x.target === 'db')!;
  await answered(() => r.form('/silences', { target: 'mq', for: '1h', until: '', comment: '' }), 303);
  await answered(() => fetch(`${r.base}/api/v1/silences/${encodeURIComponent(id)}`, { method: 'DELETE' }), 200);
  await answered(() => r.form(`/silences/${encodeURIComponent(db.id)}/delete`, {}), 303);
  await answered(() => r.postJson({ match: { channels: ['slack'], status: ['down'] }, for: '3h' }), 201);
  await r.close();
  await store.close();
  again = (await SqliteStore.open({ dir, log: quiet, dedupeWindowMs: DAY })).store;
  assert.deepEqual((await again.hubLoad()).silences.map((x) => [x.target, x.match]), [['mq', undefined], ['', { channels: ['slack'], status: ['down'] }]], 'matchers kept too');
});

test('a silence the store cannot take is answered 503 (the API, the form) and is not in force', async (t) => {
  const store = Object.assign(new MemoryOutbox(), { hubCommit: () => Promise.reject(new Error('database or disk is full')) });
  const r = await routesOn(store);
  t.after(() => r.close());
  const api = await r.postJson({ target: 'web-*', for: '2h' });
  assert.equal(api.status, 503);
  assert.equal(api.headers.get('retry-after'), '5');
  assert.deepEqual(await api.json(), { error: 'cannot write the store; retry later' });
  const page = await r.form('/silences', { target: 'db', for: '1h' });
  assert.equal(page.status, 503);
  assert.match(await page.text(), /The silence was not added: cannot write the store; retry later\./);
  assert.deepEqual(r.hub.silences.list(Date.now()), []);
});
