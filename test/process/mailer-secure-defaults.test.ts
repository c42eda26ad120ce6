/**
 * The mailer's secure defaults, on the bundle (issue 16 item 6; review N4,
 * N5, N6 and the log flood): without --token a hub change (a silence) is
 * taken from loopback only, a 403 naming --token for another host (the
 * test reaches the mailer on this machine's own non-loopback address, so
 * the peer is not loopback); the Host a browser sends must name the mailer
 * (421 for another dotted name), while agents' POSTs are not checked;
 * --public-url, validated at start (exit 2), adds its host; the public view
 * shows no recipient, error text or alert id on the page, the API or the
 * event stream, while the token's holder sees them; reports are
 * rate-limited per peer (429 with Retry-After); refusal lines are
 * throttled per peer.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { runBundle } from '../support/bundle.ts';
import { start, startMailer } from '../support/process.ts';

const TOKEN = 'tok-0123456789abcdef';
const RECIPIENT = 'oncall@secure.test';

/** This machine's first non-loopback IPv4 address, if any. */
function ownAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}
const OWN = ownAddress();

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A request with any Host header (fetch will not send one of our choosing). */
function call(at: string, port: number, method: string, path: string, o: { host?: string; body?: unknown; token?: string; type?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string> = { host: o.host ?? `${at}:${port}` };
    if (text !== undefined) headers['content-type'] = o.type ?? 'application/json';
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const req = httpRequest({ host: at, port, method, path, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function startOpenMailer(args: string[] = [], env: Record<string, string> = {}) {
  const mailer = start('mailer', ['--port', '0', '--bind', '0.0.0.0', '--to', `admin@work,${RECIPIENT}`, ...args], env);
  try {
    const m = await mailer.waitFor(/Listening on 0\.0\.0\.0:(\d+);/);
    return Object.assign(mailer, { port: Number(m[1]) });
  } catch (err) {
    await mailer.stop();
    throw err;
  }
}

const SILENCE = { target: '*', for: '1h', comment: 'from the test' };

test('without --token a silence from another host is a 403 naming --token; from loopback it is a 201', { skip: OWN === undefined && 'no non-loopback address' }, async () => {
  const mailer = await startOpenMailer(['--log-level', 'debug']);
  try {
    const far = await call(OWN!, mailer.port, 'POST', '/api/v1/silences', { body: SILENCE });
    assert.equal(far.status, 403, far.body);
    assert.match(JSON.parse(far.body).error, /loopback only.*--token/);
    const form = await call(OWN!, mailer.port, 'POST', '/silences', { body: 'target=*&for=1h&csrf=x', type: 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 403);
    assert.match(form.body, /Refused: without --token, changes .* loopback only/, 'the form\'s refusal page says why');
    assert.equal((await call(OWN!, mailer.port, 'DELETE', '/api/v1/silences/any')).status, 403);
    assert.deepEqual(JSON.parse((await call('127.0.0.1', mailer.port, 'GET', '/api/v1/silences')).body), [], 'nothing was added');
    const near = await call('127.0.0.1', mailer.port, 'POST', '/api/v1/silences', { body: SILENCE });
    assert.equal(near.status, 201, near.body);
    // The page offers its forms on loopback only.
    assert.match((await call('127.0.0.1', mailer.port, 'GET', '/')).body, /name="csrf"/);
    assert.doesNotMatch((await call(OWN!, mailer.port, 'GET', '/')).body, /name="csrf"/);
    // Alerts and reports from another host are still taken without a token (what agents send).
    assert.equal((await call(OWN!, mailer.port, 'POST', '/alerts', { body: { to: 'admin@work', message: 'far alert' } })).status, 202);
  } finally {
    await mailer.stop();
  }
});

test('the Host check: the page and hub writes need a name the mailer answers to; alerts and /healthz do not', async () => {
  const mailer = await startMailer(['--public-url', 'https://status.example.com/'], { MAILER_TOKEN: TOKEN });
  const port = mailer.port;
  try {
    for (const host of ['evil.example', `evil.example:${port}`, 'mailer.lan:33333', 'localhost.evil.example']) {
      for (const [method, path] of [['GET', '/'], ['GET', '/api/v1/status'], ['GET', '/api/v1/events'], ['GET', '/alerts?state=pending'], ['GET', '/api/v1/agents'], ['POST', '/api/v1/silences']] as const) {
        const r = await call('127.0.0.1', port, method, path, { host, token: TOKEN, ...(method === 'POST' ? { body: SILENCE } : {}) });
        assert.equal(r.status, 421, `${method} ${path} Host: ${host}: ${r.body}`);
        assert.match(JSON.parse(r.body).error, /DNS rebinding.*--public-url/);
      }
    }
    // Loopback names, any IP address, a one-label name (a --link alias), --public-url's host: answered.
    for (const host of [`localhost:${port}`, `app.localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, '192.0.2.9:33333', 'insidemailer:33333', 'status.example.com', 'STATUS.example.com:443']) {
      assert.equal((await call('127.0.0.1', port, 'GET', '/api/v1/status', { host, token: TOKEN })).status, 200, host);
    }
    // What agents send (a linked name or any other) and the healthcheck are not checked.
    assert.equal((await call('127.0.0.1', port, 'POST', '/alerts', { host: 'mailer.internal.example:33333', token: TOKEN, body: { to: 'admin@work', message: 'any host' } })).status, 202);
    assert.equal((await call('127.0.0.1', port, 'GET', '/healthz', { host: 'evil.example' })).status, 200);
  } finally {
    await mailer.stop();
  }
});

test('--public-url (PUBLIC_URL) is validated at start: one line, exit 2', () => {
  for (const [args, env] of [
    [['--public-url', 'ftp://status.example.com/'], {}],
    [['--public-url', 'not a url'], {}],
    [[], { PUBLIC_URL: 'https://user:pw@status.example.com/' }],
  ] as const) {
    const r = runBundle('mailer', [...args], env);
    assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, /public-url|PUBLIC_URL/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

/** The event stream's first `incidents` fragment. */
function firstFragment(port: number, token?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let data = '';
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/events', headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        data += c;
        const m = /event: incidents\ndata: (.*)\n/.exec(data);
        if (m) {
          req.destroy();
          resolve(m[1]!);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => reject(new Error(`no incidents fragment: ${JSON.stringify(data)}`)));
    req.end();
  });
}

test('--public-status: no recipient, error text or alert id in the page, the API or the event stream; the token holder sees them', async () => {
  // A webhook that cannot be reached: its delivery retries with an error text.
  const mailer = await startMailer(['--public-status', '--to', RECIPIENT, '--webhook', 'http://127.0.0.1:9/hook'], { MAILER_TOKEN: TOKEN });
  const port = mailer.port;
  try {
    const id = 'secret-alert-id-7f3a';
    const down = { id, to: RECIPIENT, message: 'http://shop/ is down', status: 'down', target: 'http://shop/', reason: 'connection refused', time: new Date().toISOString() };
    assert.equal((await call('127.0.0.1', port, 'POST', '/alerts', { body: down, token: TOKEN })).status, 202);
    await mailer.waitFor(/webhook[^\n]*(ECONNREFUSED|refused)/i);
    // Wait until the store shows the failed attempt to the token holder.
    let full = '';
    for (let i = 0; i < 50 && !/"error"/.test(full); i++) {
      full = (await call('127.0.0.1', port, 'GET', '/api/v1/incidents', { token: TOKEN })).body;
      if (!/"error"/.test(full)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(full, new RegExp(RECIPIENT.replace('.', '\\.')), 'the token holder sees the recipient');
    assert.match(full, new RegExp(id));
    assert.match(full, /"error"/);
    const publicTexts = {
      page: (await call('127.0.0.1', port, 'GET', '/')).body,
      targetPage: (await call('127.0.0.1', port, 'GET', `/targets/${encodeURIComponent('http://shop/')}`)).body,
      incidents: (await call('127.0.0.1', port, 'GET', '/api/v1/incidents')).body,
      status: (await call('127.0.0.1', port, 'GET', '/api/v1/status')).body,
      events: await firstFragment(port),
    };
    assert.match(publicTexts.incidents, /http:\/\/shop\//, 'the incident itself is public');
    for (const [where, text] of Object.entries(publicTexts)) {
      assert.doesNotMatch(text, /secure\.test/, `${where}: a recipient`);
      assert.doesNotMatch(text, new RegExp(id), `${where}: an alert id: ${text.slice(Math.max(0, text.indexOf(id) - 300), text.indexOf(id) + 50)}`);
      assert.doesNotMatch(text, /ECONNREFUSED|last error|"error"/, `${where}: error text`);
    }
    assert.match(await firstFragment(port, TOKEN), /secure\.test/, 'the token holder\'s event stream shows the recipient');
  } finally {
    await mailer.stop();
  }
});

test('reports are rate-limited per peer: a 429 with Retry-After past the burst', async () => {
  const mailer = await startMailer();
  try {
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 40; i++) {
      const r = await call('127.0.0.1', mailer.port, 'POST', '/api/v1/reports', { body: { v: 1 } });
      statuses.push(r.status);
      if (r.status === 429) retryAfter ??= r.headers['retry-after'];
    }
    assert.ok(statuses.slice(0, 20).every((s) => s === 400), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 429).length >= 15, statuses.join(','));
    assert.match(String(retryAfter), /^\d+$/);
  } finally {
    await mailer.stop();
  }
});

test('--report-rate n (REPORT_RATE) sets the bucket: a burst of 4n, then a 429; 0 or a word exits 2 with one line', async () => {
  for (const [args, env] of [[['--report-rate', '2'], {}], [[], { REPORT_RATE: '2' }]] as const) {
    const mailer = await startMailer([...args], env);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call('127.0.0.1', mailer.port, 'POST', '/api/v1/reports', { body: { v: 1 } })).status);
      assert.deepEqual(statuses.slice(0, 8), Array(8).fill(400), statuses.join(','));
      assert.ok(statuses.slice(8).includes(429), statuses.join(','));
    } finally {
      await mailer.stop();
    }
  }
  for (const [args, env] of [[['--report-rate', '0'], {}], [[], { REPORT_RATE: 'fast' }]] as const) {
    const r = runBundle('mailer', [...args], env);
    assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, /report-rate|REPORT_RATE/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('refusal lines are throttled per peer: 120 bad alerts from one peer write at most 50 lines', async () => {
  const mailer = await startMailer();
  try {
    for (let i = 0; i < 120; i++) assert.equal((await call('127.0.0.1', mailer.port, 'POST', '/alerts', { body: '{not json' })).status, 400);
    await mailer.waitFor(/Refused json alert from 127\.0\.0\.1/);
    // One good alert after them: its line comes after any refusal line the mailer wrote.
    assert.equal((await call('127.0.0.1', mailer.port, 'POST', '/alerts', { body: { to: 'admin@work', message: 'after the flood' } })).status, 202);
    await mailer.waitFor(/after the flood/);
    const lines = mailer.output().split('\n').filter((l) => /Refused json alert/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= 50, `${lines.length} refusal lines`);
  } finally {
    await mailer.stop();
  }
});
