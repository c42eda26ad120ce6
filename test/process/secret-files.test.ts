/**
 * `*_FILE` for the secret flags, on the bundles (issue 17 item 6): a value in
 * X_FILE's file (its trailing line break trimmed) works as X would (the
 * mailer's token: 202 with it, 401 without; the agent's token: its alert is
 * taken; a webhook's URL and token from files reach the receiver); X and
 * X_FILE both set, a missing file or an empty one is exit 2 with one line
 * naming the variable and the file; the value from a file is never printed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Receiver } from '../support/http-receiver.ts';
import { freePort, run, start, startMailer } from '../support/process.ts';

const TOKEN = 'file-token-0123456789abcdef';

const dir = mkdtempSync(join(tmpdir(), 'ch2-secret-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file holding `content`, at a path that does not contain it. */
let files = 0;
function secretFile(content: string): string {
  const path = join(dir, `secret-${++files}`);
  writeFileSync(path, content);
  return path;
}

function post(port: number, token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ to: 'admin@work', message: 'from the secret-files test' }),
  });
}

test('mailer: the token from MAILER_TOKEN_FILE (a trailing newline trimmed) is the token: 202 with it, 401 without; never printed', async () => {
  const mailer = await startMailer([], { MAILER_TOKEN_FILE: secretFile(`${TOKEN}\n`) });
  try {
    assert.equal((await post(mailer.port)).status, 401);
    assert.equal((await post(mailer.port, `${TOKEN}x`)).status, 401);
    assert.equal((await post(mailer.port, TOKEN)).status, 202);
    await mailer.waitFor(/^Sending email: To: admin@work Message: from the secret-files test$/m);
  } finally {
    await mailer.stop();
  }
  assert.doesNotMatch(mailer.output(), new RegExp(TOKEN));
  assert.doesNotMatch(mailer.output(), /No --token/, 'the mailer knows it has a token');
});

/** One line on stderr naming `reason`, exit 2, nothing on stdout, and never `secret`. */
function refused(r: { code: number | null; stdout: string; stderr: string }, program: string, reason: RegExp, secret: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^${program}: `));
  assert.match(lines[0]!, reason);
  assert.ok(!r.stderr.includes(secret), `the secret is printed: ${r.stderr}`);
}

for (const program of ['mailer', 'agent'] as const) {
  test(`${program}: MAILER_TOKEN and MAILER_TOKEN_FILE both set, a missing, empty or refused file: exit 2, one line naming the variable and the file`, () => {
    const good = secretFile(`${TOKEN}\n`);
    refused(run(program, [], { MAILER_TOKEN: 'other-token-0123456789', MAILER_TOKEN_FILE: good }), `ch2-${program}`, /MAILER_TOKEN and MAILER_TOKEN_FILE are both set/, TOKEN);
    const missing = join(dir, 'no-such-file');
    refused(run(program, [], { MAILER_TOKEN_FILE: missing }), `ch2-${program}`, new RegExp(`MAILER_TOKEN_FILE: ${missing} cannot be read \\(ENOENT\\)`), TOKEN);
    refused(run(program, [], { MAILER_TOKEN_FILE: secretFile('\n') }), `ch2-${program}`, /MAILER_TOKEN_FILE: .* is empty/, TOKEN);
    refused(run(program, [], { MAILER_TOKEN_FILE: dir }), `ch2-${program}`, /MAILER_TOKEN_FILE: .* is a folder/, TOKEN);
    // A value the flag refuses (too short) is refused as from the env var, naming the file, never shown.
    const short = 'sh0rt-s3cret';
    const file = secretFile(`${short}\n`);
    refused(run(program, [], { MAILER_TOKEN_FILE: file }), `ch2-${program}`, new RegExp(`at least 16 characters.*MAILER_TOKEN_FILE \\(${file}\\)`), short);
    // An empty X_FILE means unset, as an empty X does.
    assert.notEqual(run(program, ['--bogus-flag'], { MAILER_TOKEN_FILE: '' }).stderr.match(/unknown option '--bogus-flag'/), null);
  });
}

test('agent: the token from MAILER_TOKEN_FILE is sent: the mailer that needs it takes the alert; never printed', async () => {
  const mailer = await startMailer([], { MAILER_TOKEN: TOKEN });
  const dead = await freePort();
  const agent = start('agent', ['--target', `http://127.0.0.1:${dead}/`, '--mailer', `127.0.0.1:${mailer.port}`, '--interval', '200ms', '--report-every', 'off', '--message', 'down from the agent'], {
    MAILER_TOKEN_FILE: secretFile(`${TOKEN}\r\n`),
  });
  try {
    await mailer.waitFor(/^Sending email: To: admin@work Message: down from the agent/m, 10_000);
  } finally {
    await agent.stop();
    await mailer.stop();
  }
  assert.doesNotMatch(agent.output(), new RegExp(TOKEN));
  assert.doesNotMatch(mailer.output(), new RegExp(TOKEN));
});

test('mailer: WEBHOOK_URL_FILE and WEBHOOK_TOKEN_FILE: the receiver gets the alert with the bearer token; neither printed', { timeout: 15_000 }, async () => {
  const receiver = new Receiver();
  await receiver.listen();
  const hook = `${receiver.base}/hook/s3cr3t-path-0123`;
  const hookToken = 'hook-token-abcdef0123456789';
  const mailer = await startMailer([], { WEBHOOK_URL_FILE: secretFile(`${hook}\n`), WEBHOOK_TOKEN_FILE: secretFile(hookToken) });
  try {
    // The receiver records a hit at its request's end; this listener comes after its own.
    const received = new Promise<void>((resolve) => receiver.server.once('request', (req) => req.on('end', () => setImmediate(resolve))));
    assert.equal((await post(mailer.port)).status, 202);
    await received;
    const hit = receiver.hits[0];
    assert.ok(hit, 'the webhook got the alert');
    assert.equal(hit.path, '/hook/s3cr3t-path-0123');
    assert.equal(hit.headers.authorization, `Bearer ${hookToken}`);
  } finally {
    await mailer.stop();
    await receiver.close();
  }
  assert.doesNotMatch(mailer.output(), /s3cr3t-path-0123|hook-token-abcdef/);
});

test('mailer: SMTP_URL_FILE and NOTIFY_URLS_FILE are read; a bad value in them is refused without being shown', () => {
  refused(run('mailer', [], { SMTP_URL_FILE: secretFile('smtp://user:pa55word@\n') }), 'ch2-mailer', /--smtp \/ SMTP_URL: .*it came from SMTP_URL_FILE/, 'pa55word');
  refused(run('mailer', [], { NOTIFY_URLS_FILE: secretFile('not-a-url-t0ken\n') }), 'ch2-mailer', /--notify \/ NOTIFY_URLS: .*it came from NOTIFY_URLS_FILE/, 'not-a-url-t0ken');
  refused(run('mailer', [], { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/x', SLACK_WEBHOOK_URL_FILE: secretFile('https://hooks.slack.com/services/y') }), 'ch2-mailer', /SLACK_WEBHOOK_URL and SLACK_WEBHOOK_URL_FILE are both set/, 'services/y');
});

test('mailer: STORE_URL_FILE is the store URL (the mailer waits for that server, the password never shown); with STORE_URL too, or a bad URL in it, exit 2', async () => {
  const password = 'st0re-pa55word';
  const url = `postgres://ch2:${password}@127.0.0.1:${await freePort()}/ch2`;
  const mailer = start('mailer', ['--port', '0', '--bind', '127.0.0.1'], { STORE_DIR: '', STORE_URL_FILE: secretFile(`${url}\n`) });
  try {
    await mailer.waitFor(/cannot reach the server/);
    assert.ok(!mailer.output().includes(password), mailer.output());
  } finally {
    await mailer.stop();
  }
  refused(run('mailer', [], { STORE_URL: url, STORE_URL_FILE: secretFile(url) }), 'ch2-mailer', /STORE_URL and STORE_URL_FILE are both set/, password);
  refused(run('mailer', [], { STORE_URL_FILE: secretFile(`${url}?bogus=1`) }), 'ch2-mailer', /STORE_URL|store/, password);
});
