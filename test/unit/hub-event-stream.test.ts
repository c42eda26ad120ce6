/**
 * The status page's event streams (mailer/hub/event-stream.ts) on fake
 * requests and responses, with node:test's mock Date and timers and a real
 * Access (mailer/hub/access.ts): a stream lasts no longer than what let it in.
 * One opened on a session's cookie ends when the session does (12 hours), or
 * at the next event once the session is pushed out by newer logins; one opened
 * with the token (which cannot change while the mailer runs) goes on. Caps:
 * 32 streams from one address, half of --max-connections in all; an open
 * stream's socket is released from its peer's connection count.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { Access, SESSION_COOKIE } from '../../mailer/hub/access.ts';
import { EventStreams } from '../../mailer/hub/event-stream.ts';
import type { HubEvent } from '../../mailer/hub/hub.ts';

const TOKEN = 's3cret-T0ken-for-streams';
const HOUR = 3_600_000;

/** A response as the streams use it: what was written, and whether it ended. */
class FakeResponse extends EventEmitter {
  status = 0;
  text = '';
  ended = false;
  writableLength = 0;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    assert.equal(this.ended, false, 'written after its end');
    this.text += chunk;
    return true;
  }
  end(chunk?: string): this {
    if (chunk !== undefined) this.text += chunk;
    if (!this.ended) {
      this.ended = true;
      setImmediate(() => this.emit('close'));
    }
    return this;
  }
  destroy(): this {
    return this.end();
  }
}

function request(headers: Record<string, string>, remoteAddress = '192.168.1.20'): IncomingMessage {
  return { headers: { host: 'mailer.lan:33333', ...headers }, socket: { remoteAddress, setTimeout() {} }, resume() {} } as unknown as IncomingMessage;
}

/** The intake's limits as the streams see them: the sockets released from their peer's count. */
function limits(max = 512) {
  const released: unknown[] = [];
  return { max, released, releasePeer: (socket: unknown) => void released.push(socket) };
}

function sessionCookie(access: Access): string {
  const setCookie = access.login(TOKEN);
  assert.ok(setCookie);
  return setCookie.split(';')[0]!;
}

function setUp(t: TestContext) {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: Date.UTC(2026, 2, 1, 9) });
  const access = new Access(TOKEN, false);
  const listeners = new Set<(e: HubEvent) => void>();
  const hub = {
    subscribe(listener: (e: HubEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const streams = new EventStreams({ hub, access, limits: limits(), render: async () => '<p>none</p>' });
  t.after(() => streams.close());
  const open = (headers: Record<string, string>): FakeResponse => {
    const res = new FakeResponse();
    streams.open(request(headers), res as unknown as ServerResponse);
    assert.equal(res.status, 200);
    return res;
  };
  const emit = (): void => {
    for (const l of listeners) l({ type: 'agent', data: { name: 'a1' } as never });
  };
  return { access, open, emit };
}

test("a stream opened on a session's cookie ends when the session does; one opened with the token goes on", (t) => {
  const { access, open, emit } = setUp(t);
  const bySession = open({ cookie: sessionCookie(access) });
  const byToken = open({ authorization: `Bearer ${TOKEN}` });
  t.mock.timers.tick(12 * HOUR);
  assert.equal(bySession.ended, false, 'the session is good through its 12 hours');
  t.mock.timers.tick(1);
  assert.equal(bySession.ended, true, 'ended the moment its session did');
  assert.equal(byToken.ended, false);
  const before = bySession.text;
  emit();
  assert.equal(bySession.text, before, 'no event after its end');
  assert.match(byToken.text, /event: agent\n/);
});

test('a stream whose session is pushed out by newer logins ends at its next event', (t) => {
  const { access, open, emit } = setUp(t);
  const cookie = sessionCookie(access);
  const res = open({ cookie });
  emit();
  assert.match(res.text, /event: agent\n/, 'its events come while the session lasts');
  // The oldest session goes once 1,000 are kept.
  for (let n = 0; n < 1000; n++) access.login(TOKEN);
  assert.equal(access.readUntil(request({ cookie })), undefined, 'the session is gone');
  const before = res.text;
  emit();
  assert.equal(res.ended, true);
  assert.equal(res.text, before, 'the event did not reach it');
  // So does an idle one, at the next heartbeat.
  const idle = open({ cookie: sessionCookie(access) });
  for (let n = 0; n < 1000; n++) access.login(TOKEN);
  t.mock.timers.tick(15_000);
  assert.equal(idle.ended, true);
});

test('a cookie that is no session gets no stream', (t) => {
  const { access } = setUp(t);
  const streams = new EventStreams({ hub: { subscribe: () => () => {} }, access, limits: limits(), render: async () => '' });
  const res = new FakeResponse();
  streams.open(request({ cookie: `${SESSION_COOKIE}=made-up` }), res as unknown as ServerResponse);
  assert.equal(res.status, 401);
  assert.equal(res.ended, true);
});

test("at most 32 streams from one address and half of --max-connections in all (503 past them); an open stream's socket leaves its peer's count", async () => {
  const open = new Access(undefined, false);
  const lim = limits(100);
  const streams = new EventStreams({ hub: { subscribe: () => () => {} }, access: open, limits: lim, render: async () => '' });
  const start = (address: string): FakeResponse => {
    const res = new FakeResponse();
    const req = request({}, address);
    streams.open(req, res as unknown as ServerResponse);
    if (res.status === 200) assert.equal(lim.released.at(-1), req.socket, 'released once open');
    return res;
  };
  const proxy = Array.from({ length: 32 }, () => start('::ffff:10.0.0.5'));
  assert.ok(proxy.every((r) => r.status === 200));
  assert.equal(lim.released.length, 32);
  const refused = start('10.0.0.5');
  assert.equal(refused.status, 503, 'the 33rd from the same address (IPv4-mapped or not)');
  assert.match(refused.text, /at most 32 event streams at once from one address/);
  assert.equal(lim.released.length, 32, 'a refused stream is not released');
  // Others may still open theirs, up to 50 in all (half of 100).
  for (let n = 0; n < 18; n++) assert.equal(start(`10.0.1.${n}`).status, 200);
  const full = start('10.0.2.1');
  assert.equal(full.status, 503);
  assert.match(full.text, /at most 50 event streams at once"/);
  // A stream that closes gives its slot back, to its peer too.
  await new Promise((resolve) => setImmediate(resolve));
  proxy[0]!.end();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(start('10.0.0.5').status, 200);
  streams.close();
});

test("the incidents list a stream gets: with the page's Close buttons for a reader who may write (the token's holder, a session, loopback without --token), never for the public; one render per kind of reader", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const incidentsOf = (res: FakeResponse): string[] => [...res.text.matchAll(/event: incidents\ndata: (.*)\n\n/g)].map((m) => (JSON.parse(m[1]!) as { html: string }).html);
  for (const { token, publicStatus, readers } of [
    { token: TOKEN, publicStatus: true, readers: [['the token as Bearer', { authorization: `Bearer ${TOKEN}` }, '192.168.1.20', 'all+controls'], ['a session', 'session', '192.168.1.20', 'all+controls'], ['no token (--public-status)', {}, '192.168.1.20', 'public'], ['no token, from loopback', {}, '127.0.0.1', 'public']] },
    { token: undefined, publicStatus: false, readers: [['loopback', {}, '127.0.0.1', 'all+controls'], ['IPv6 loopback', {}, '::1', 'all+controls'], ['another host', {}, '192.168.1.20', 'public']] },
  ] as const) {
    const access = new Access(token, publicStatus);
    const listeners = new Set<(e: HubEvent) => void>();
    const renders: string[] = [];
    const streams = new EventStreams({
      hub: { subscribe: (l) => (listeners.add(l), () => listeners.delete(l)) },
      access,
      limits: limits(),
      render: async (audience, controls) => {
        renders.push(`${audience}:${controls}`);
        return `<div id="incident-list">${audience}${controls ? ' <button>Close</button>' : ''}</div>`;
      },
    });
    t.after(() => streams.close());
    const opened = readers.map(([who, headers, address, want]) => {
      const res = new FakeResponse();
      streams.open(request(headers === 'session' ? { cookie: sessionCookie(access) } : headers, address), res as unknown as ServerResponse);
      assert.equal(res.status, 200, who);
      return { who, res, want };
    });
    await settle();
    renders.length = 0;
    for (const l of listeners) l({ type: 'incident', data: { id: 'i-1', target: 'web', state: 'open' } });
    t.mock.timers.tick(250);
    await settle();
    for (const { who, res, want } of opened) {
      const html = want === 'public' ? '<div id="incident-list">public</div>' : '<div id="incident-list">all <button>Close</button></div>';
      assert.deepEqual(incidentsOf(res), [html, html], `${who} (${token ? '--token' : 'no --token'}${publicStatus ? ' --public-status' : ''}): as it opened and after the change`);
    }
    assert.deepEqual(renders.sort(), [...new Set(opened.map((o) => (o.want === 'public' ? 'public:false' : 'all:true')))].sort(), 'one render per kind of reader, not per stream');
  }
});
