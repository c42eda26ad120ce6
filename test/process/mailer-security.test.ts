/**
 * The mailer process with --token and --no-raw, and its store seen from
 * outside: 401 without the token, the token never logged, raw text refused,
 * pending and dead alerts listed, and a restart on the same store that
 * remembers what it delivered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startMailer } from '../support/process.ts';

const TOKEN = 'tok-0123456789abcdef';
const stores: string[] = [];
after(() => {
  for (const dir of stores) rmSync(dir, { recursive: true, force: true });
});

function storeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-store-sec-'));
  stores.push(dir);
  return dir;
}

async function request(port: number, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function sendRaw(port: number, text: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(text));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

test('--token: /alerts needs the bearer token, /healthz does not, and the token is never logged', async () => {
  const mailer = await startMailer(['--log-level', 'debug'], { MAILER_TOKEN: TOKEN });
  const port = mailer.port;
  try {
    const alert = { id: 'sec-1', to: 'admin@work', message: 'with token' };
    const none = await request(port, 'POST', '/alerts', alert);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await request(port, 'POST', '/alerts', alert, 'tok-wrong-wrong-wrong')).status, 401);
    assert.equal((await request(port, 'GET', '/alerts?state=pending', undefined)).status, 401);
    assert.equal((await request(port, 'GET', '/healthz')).status, 200);
    const ok = await request(port, 'POST', '/alerts', alert, TOKEN);
    assert.equal(ok.status, 202);
    await mailer.waitFor(/Sending email: To: admin@work Message: with token/);
    assert.doesNotMatch(mailer.output(), /No --token/);
    assert.match(mailer.output(), /Refused json alert .*missing or wrong bearer token/);
  } finally {
    await mailer.stop();
  }
  assert.ok(!mailer.output().includes(TOKEN), 'the token is not in any log line');
});

test('without --token the mailer warns at start', async () => {
  const mailer = await startMailer();
  try {
    await mailer.waitFor(/No --token \(MAILER_TOKEN\)/);
  } finally {
    await mailer.stop();
  }
});

test('--no-raw (or RAW_PROTOCOL=off) refuses the book\'s raw text; HTTP still works', async () => {
  for (const [args, env] of [[['--no-raw'], {}], [[], { RAW_PROTOCOL: 'off' }]] as const) {
    const mailer = await startMailer([...args], { ...env });
    const port = mailer.port;
    try {
      await sendRaw(port, 'To: admin@work  Message: raw is off');
      await mailer.waitFor(/Refused raw alert .*raw text protocol is off/);
      assert.equal((await request(port, 'POST', '/alerts', { to: 'admin@work', message: 'json is on' })).status, 202);
      await mailer.waitFor(/Sending email: To: admin@work Message: json is on/);
      assert.doesNotMatch(mailer.output(), /Sending email: To: admin@work {2}Message: raw is off/);
    } finally {
      await mailer.stop();
    }
  }
});

test('GET /alerts lists pending and dead alerts; a restart on the same store remembers delivered ids', async () => {
  const store = storeDir();
  // An SMTP server that is not there: mail stays pending. A bad state or limit is a 400.
  let mailer = await startMailer(['--store', store, '--smtp', 'smtp://127.0.0.1:1', '--smtp-timeout', '200ms']);
  let port = mailer.port;
  try {
    assert.equal((await request(port, 'POST', '/alerts', { id: 'p-1', to: 'admin@work', message: 'pending one' })).status, 202);
    await mailer.waitFor(/Alert p-1 via smtp failed/);
    const pending = await request(port, 'GET', '/alerts?state=pending');
    assert.equal(pending.status, 200);
    assert.equal(pending.json.total, 1);
    const [entry] = pending.json.alerts as Array<{ id: string; channels: Record<string, { state: string }> }>;
    assert.equal(entry?.id, 'p-1');
    assert.equal(entry?.channels.log?.state, 'delivered');
    assert.equal(entry?.channels.smtp?.state, 'pending');
    assert.equal((await request(port, 'GET', '/alerts?state=nope')).status, 400);
    assert.equal((await request(port, 'GET', '/alerts?state=dead&limit=0')).status, 400);
  } finally {
    await mailer.stop();
  }
  // Started again without SMTP: the pending e-mail cannot be sent any more, so it is a dead letter; the id is still known.
  mailer = await startMailer(['--store', store]);
  port = mailer.port;
  try {
    await mailer.waitFor(/Alert p-1 not delivered via smtp \(dead letter\): channel smtp is no longer configured/);
    // The line is logged as the dead letter is being written: wait (bounded) for the listing to show it.
    let dead = await request(port, 'GET', '/alerts?state=dead');
    for (let i = 0; i < 40 && dead.json.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      dead = await request(port, 'GET', '/alerts?state=dead');
    }
    assert.equal(dead.json.total, 1);
    const [letter] = dead.json.alerts as Array<{ id: string; channels: Record<string, { state: string; error?: string }> }>;
    assert.equal(letter?.id, 'p-1');
    assert.equal(letter?.channels.smtp?.state, 'dead');
    const again = await request(port, 'POST', '/alerts', { id: 'p-1', to: 'admin@work', message: 'pending one' });
    assert.equal(again.status, 202);
    assert.equal(again.json.duplicate, true);
    assert.doesNotMatch(mailer.output(), /Sending email/);
  } finally {
    await mailer.stop();
  }
});

test('a JSON reminder keeps its number through admission to the channels', async () => {
  const store = storeDir();
  const files = storeDir();
  const mailer = await startMailer(['--store', store, '--file-dir', files, '--file-format', 'json']);
  const port = mailer.port;
  try {
    const alert = { id: 'rem-1', to: 'admin@work', message: 'still down', status: 'down', target: 'http://insideweb:80/', reminder: 2, downForMs: 61_000 };
    assert.equal((await request(port, 'POST', '/alerts', alert)).status, 202);
    await mailer.waitFor(/Delivered alert rem-1 via file/);
    const record = JSON.parse(readFileSync(join(files, 'rem-1.json'), 'utf8'));
    assert.equal(record.reminder, 2);
    assert.equal(record.downForMs, 61_000);
  } finally {
    await mailer.stop();
  }
});
