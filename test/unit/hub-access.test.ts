/**
 * Who may read the status page and change what the hub keeps
 * (mailer/hub/access.ts), on fake requests ({headers, socket: {remoteAddress}}):
 * without --token anyone reads, and a loopback peer writes with what a
 * cross-site page cannot send (a JSON body, a DELETE, the page's CSRF
 * token; another host gets a 403 naming --token); with it, a Bearer
 * token, HTTP Basic with the token as password (any user name) or the
 * login() session cookie reads; a cookie write also needs the CSRF token; a
 * cross-origin write is refused whatever it carries; --public-status opens
 * reading only. Sessions end after 12 hours (node:test's mock Date).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { Access, LOOPBACK_ONLY, SESSION_COOKIE } from '../../mailer/hub/access.ts';

const TOKEN = 's3cret-T0ken';
const HOST = 'mailer.lan:33333';

function req(headers: Record<string, string> = {}, remoteAddress = '192.168.1.20'): IncomingMessage {
  return { headers: { host: HOST, ...headers }, socket: { remoteAddress } } as unknown as IncomingMessage;
}

const basic = (userPass: string): string => `Basic ${Buffer.from(userPass).toString('base64')}`;

/** The session cookie login() sets, as a browser sends it back. */
function sessionOf(access: Access): string {
  const setCookie = access.login(TOKEN);
  assert.ok(setCookie, 'login with the right token');
  const m = new RegExp(`^${SESSION_COOKIE}=([A-Za-z0-9_-]+); `).exec(setCookie);
  assert.ok(m, setCookie);
  return `${SESSION_COOKIE}=${m[1]}`;
}

test('without a token: anyone reads; a loopback peer may write with a JSON body or the page\'s CSRF token (what a cross-site page cannot send)', () => {
  const access = new Access(undefined, false);
  assert.deepEqual(access.read(req({}, '203.0.113.9')), { ok: true, via: 'open' });
  assert.equal(access.canWrite(req({}, '127.0.0.1')), true, 'the page offers its forms on loopback');
  assert.deepEqual(access.write(req({ 'content-type': 'application/json' }, '127.0.0.1'), undefined), { ok: true, via: 'open' });
  assert.deepEqual(access.write(req({ 'content-type': 'Application/JSON; charset=utf-8' }, '::1'), undefined), { ok: true, via: 'open' });
  const form = req({ 'content-type': 'application/x-www-form-urlencoded' }, '::ffff:127.0.0.1');
  assert.deepEqual(access.write(form, access.csrfFor(form)), { ok: true, via: 'open' });
  // A form without the token, or with a wrong one, and a body of a type any page can send: refused.
  const local = (headers: Record<string, string>): IncomingMessage => req(headers, '127.0.0.1');
  for (const [r, csrf] of [
    [form, ''],
    [form, 'forged'],
    [form, undefined],
    [local({ 'content-type': 'text/plain' }), undefined],
    [local({}), undefined],
  ] as const) {
    const verdict = access.write(r, csrf);
    assert.deepEqual(verdict.ok ? verdict : { ok: false, status: verdict.status }, { ok: false, status: 403 }, `${r.headers['content-type']} ${csrf}`);
    if (!verdict.ok) assert.match(verdict.error, /content-type application\/json.*CSRF/);
  }
  assert.equal(access.login(TOKEN), undefined, 'no token: no login');
});

// Review N5: without --token one JSON POST /api/v1/silences of '*' from anywhere muted every channel for a year.
test('without a token, a change from another host is a 403 that says how to allow it, whatever it carries', () => {
  const access = new Access(undefined, false);
  for (const peer of ['203.0.113.9', '192.168.1.20', '::ffff:10.0.0.7', '2001:db8::1', '172.17.0.1']) {
    const json = req({ 'content-type': 'application/json' }, peer);
    const form = req({ 'content-type': 'application/x-www-form-urlencoded' }, peer);
    const del = { method: 'DELETE', headers: { host: HOST }, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
    for (const [r, csrf] of [[json, undefined], [form, access.csrfFor(form)], [del, undefined]] as const) {
      const verdict = access.write(r, csrf);
      assert.equal(verdict.ok, false, peer);
      if (!verdict.ok) {
        assert.equal(verdict.status, 403);
        assert.equal(verdict.error, LOOPBACK_ONLY);
        assert.match(verdict.error, /loopback only.*--token/);
      }
    }
    assert.equal(access.canWrite(json), false, 'no forms offered to another host');
  }
});

test('who sees all (recipients, errors, alert ids): the token\'s holder; without a token, loopback only', () => {
  const open = new Access(undefined, false);
  assert.equal(open.seesAll(req({}, '127.0.0.1')), true);
  assert.equal(open.seesAll(req({}, '::1')), true);
  assert.equal(open.seesAll(req({}, '203.0.113.9')), false);
  const shown = new Access(TOKEN, true);
  assert.equal(shown.seesAll(req({}, '127.0.0.1')), false, '--public-status without the token: the public view, even on loopback');
  assert.equal(shown.seesAll(req({ authorization: `Bearer ${TOKEN}` })), true);
  assert.equal(shown.seesAll(req({ cookie: sessionOf(shown) })), true);
  assert.equal(new Access(TOKEN, false).seesAll(req({ authorization: basic(`u:${TOKEN}`) })), true);
});

// Regression (found at 900e444): without --token a write needed a JSON content type or the CSRF token, which a
// DELETE carries neither of (README: DELETE /api/v1/silences/<id>; `curl -X DELETE` got 403). A DELETE is no
// simple request: a cross-site page cannot send it without CORS either.
test('without a token, DELETE (which a cross-site page cannot send without CORS) needs no content type', () => {
  const access = new Access(undefined, false);
  const del = { method: 'DELETE', headers: { host: HOST }, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  assert.deepEqual(access.write(del, undefined), { ok: true, via: 'open' });
});

test('an opaque origin (Origin: null: a sandboxed cross-site frame) with a body any page can send and no CSRF token is refused without a token', () => {
  const access = new Access(undefined, false);
  const r = req({ origin: 'null', 'content-type': 'text/plain' }, '127.0.0.1');
  assert.equal(access.write(r, undefined).ok, false);
  assert.equal(access.write(r, '').ok, false);
  // The page's own forms (its Referrer-Policy no-referrer makes their Origin null) carry the token and pass.
  assert.deepEqual(access.write(r, access.csrfFor(r)), { ok: true, via: 'open' });
});

// Regression (found at 900e444): `Origin: null` skipped the origin check and Basic was taken with no CSRF
// token. A browser sends Basic by itself once it answered the 401 challenge (hub-routes.ts sends
// WWW-Authenticate: Basic), like a cookie: a sandboxed frame on any site (Origin: null) could then submit a
// form to POST /silences ({target: '*', for: '366d'}) and silence every alert.
test('with a token, Basic (sent by the browser by itself) from an opaque origin (Origin: null) needs the CSRF token', () => {
  const access = new Access(TOKEN, false);
  const r = req({ origin: 'null', authorization: basic(`admin:${TOKEN}`), 'content-type': 'application/x-www-form-urlencoded' });
  const verdict = access.write(r, '');
  assert.equal(verdict.ok, false, 'a cross-site form riding on cached Basic credentials');
  if (!verdict.ok) assert.equal(verdict.status, 403);
  // The page's own form carries its CSRF token; curl with Basic sends no Origin at all.
  assert.equal(access.write(r, access.csrfFor(r)).ok, true);
  assert.deepEqual(access.write(req({ authorization: basic(`admin:${TOKEN}`) }), undefined), { ok: true, via: 'token' });
});

test('with a token: no credentials is 401 for reading and writing, with the ways in', () => {
  const access = new Access(TOKEN, false);
  const read = access.read(req());
  assert.equal(read.ok, false);
  if (!read.ok) {
    assert.equal(read.status, 401);
    assert.match(read.error, /HTTP Basic.*Bearer.*\/login/);
  }
  const write = access.write(req(), undefined);
  assert.deepEqual(write.ok ? write : { ok: false, status: write.status }, { ok: false, status: 401 });
  assert.equal(access.canWrite(req({}, '127.0.0.1')), false, 'loopback is no credential');
});

test('Bearer: the right token reads and writes (no CSRF needed); a wrong or padded one does not', () => {
  const access = new Access(TOKEN, false);
  assert.deepEqual(access.read(req({ authorization: `Bearer ${TOKEN}` })), { ok: true, via: 'token' });
  assert.deepEqual(access.read(req({ authorization: `bearer   ${TOKEN} ` })), { ok: true, via: 'token' });
  assert.deepEqual(access.write(req({ authorization: `Bearer ${TOKEN}` }), undefined), { ok: true, via: 'token' });
  for (const h of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Token ${TOKEN}`, TOKEN]) {
    assert.equal(access.read(req({ authorization: h })).ok, false, h);
  }
  assert.equal(access.canWrite(req({ authorization: `Bearer ${TOKEN}` })), true);
});

test('Basic: any user name with the token as password reads and writes; a wrong password or no colon does not', () => {
  const access = new Access(TOKEN, false);
  for (const up of [`admin:${TOKEN}`, `:${TOKEN}`, `someone else:${TOKEN}`]) {
    assert.deepEqual(access.read(req({ authorization: basic(up) })), { ok: true, via: 'token' }, up);
    assert.deepEqual(access.write(req({ authorization: basic(up) }), undefined), { ok: true, via: 'token' }, up);
  }
  for (const up of ['admin:wrong', `admin:${TOKEN} `, TOKEN, `${TOKEN}:`, '']) {
    assert.equal(access.read(req({ authorization: basic(up) })).ok, false, JSON.stringify(up));
  }
  assert.equal(access.read(req({ authorization: 'Basic !!!not-base64' })).ok, false);
  // A token with a colon in it: the user name ends at the first colon.
  const colon = new Access('pa:ss', false);
  assert.deepEqual(colon.read(req({ authorization: basic('u:pa:ss') })), { ok: true, via: 'token' });
});

test('the cookie after login(): reads; a write with it needs the session\'s CSRF token; a wrong token logs in no one', () => {
  const access = new Access(TOKEN, false);
  assert.equal(access.login('wrong'), undefined);
  assert.equal(access.login(''), undefined);
  const setCookie = access.login(TOKEN)!;
  assert.match(setCookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);
  const cookie = sessionOf(access);
  const r = req({ cookie: `theme=dark; ${cookie}; other=1` });
  assert.deepEqual(access.read(r), { ok: true, via: 'cookie' });
  assert.equal(access.canWrite(r), true);
  const none = access.write(r, undefined);
  assert.deepEqual(none.ok ? none : { ok: false, status: none.status }, { ok: false, status: 403 });
  assert.equal(access.write(r, 'forged').ok, false);
  assert.deepEqual(access.write(r, access.csrfFor(r)), { ok: true, via: 'cookie' });
  // Another session's CSRF token, or the one of no session, is not this one's.
  const other = req({ cookie: sessionOf(access) });
  assert.notEqual(access.csrfFor(other), access.csrfFor(r));
  assert.equal(access.write(r, access.csrfFor(other)).ok, false);
  assert.equal(access.write(r, access.csrfFor(req())).ok, false);
  // A made-up session id is no session.
  assert.equal(access.read(req({ cookie: `${SESSION_COOKIE}=made-up` })).ok, false);
  // A cookie from another mailer (another Access: another secret and sessions) is nothing here.
  assert.equal(new Access(TOKEN, false).read(r).ok, false);
});

test('a session ends after 12 hours', (t) => {
  // Date.now() is the mock's (restored when the test ends).
  t.mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 2, 1, 9) });
  const access = new Access(TOKEN, false);
  const r = req({ cookie: sessionOf(access) });
  t.mock.timers.tick(12 * 3_600_000);
  assert.equal(access.read(r).ok, true, 'at 12 hours exactly');
  t.mock.timers.tick(1);
  assert.equal(access.read(r).ok, false);
  assert.equal(access.canWrite(r), false);
});

test('an Origin that is not this host is refused (403), whatever credentials come with it; the same host passes', () => {
  const access = new Access(TOKEN, false);
  const cookie = sessionOf(access);
  for (const origin of ['https://evil.example', 'http://mailer.lan:8080', 'http://mailer.lan', 'not a url', 'http://mailer.lan:33333.evil.example']) {
    const bearer = access.write(req({ origin, authorization: `Bearer ${TOKEN}` }), undefined);
    assert.deepEqual(bearer.ok ? bearer : { ok: false, status: bearer.status, error: bearer.error }, { ok: false, status: 403, error: 'cross-origin request refused' }, origin);
    const r = req({ origin, cookie });
    assert.equal(access.write(r, access.csrfFor(r)).ok, false, origin);
  }
  const same = req({ origin: `http://${HOST}`, cookie });
  assert.deepEqual(access.write(same, access.csrfFor(same)), { ok: true, via: 'cookie' });
  // No token: a JSON write from another origin (a CORS preflight answered by someone else) is refused too.
  const open = new Access(undefined, false);
  assert.equal(open.write(req({ origin: 'https://evil.example', 'content-type': 'application/json' }, '127.0.0.1'), undefined).ok, false);
  // A request with no Host at all cannot be same-origin.
  const noHost = { headers: { origin: 'http://mailer.lan:33333', authorization: `Bearer ${TOKEN}` }, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  assert.equal(access.write(noHost, undefined).ok, false);
});

test('--public-status: anyone reads; writing still needs the token', () => {
  const access = new Access(TOKEN, true);
  assert.equal(access.publicStatus, true);
  assert.deepEqual(access.read(req()), { ok: true, via: 'open' });
  const write = access.write(req({}, '127.0.0.1'), undefined);
  assert.deepEqual(write.ok ? write : { ok: false, status: write.status }, { ok: false, status: 401 });
  assert.deepEqual(access.write(req({ authorization: `Bearer ${TOKEN}` }), undefined), { ok: true, via: 'token' });
  assert.equal(access.canWrite(req()), false);
});
