/**
 * The agent's command line as shipped (dist/agent.mjs): secrets never printed,
 * empty env vars unset, limits that match the mailer's, options that cannot
 * apply refused, the config file taking the CLI's values, the mailer address,
 * output at every --log-level, and one-line reasons.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runBundle, startBundle } from '../support/bundle.ts';
import { freePort } from '../support/process.ts';

let dir = '';
let web: Server;
let webUrl = '';
let hits = 0;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ch2-cli-'));
  web = createServer((_req, res) => {
    hits += 1;
    res.end('Welcome');
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/`;
});
after(() => {
  web.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Exit 2 with exactly one line on stderr matching `pattern`, nothing on stdout. */
function assertRefused(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit 2, got ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').filter((l) => l).length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

// --- secrets: a rejected value never appears, from the flag or the env var ---

const SECRET_CASES: Array<[string, string[], Record<string, string>, string]> = [
  ['--mailer-token too short', ['--mailer-token', 'bar-secret'], {}, 'bar-secret'],
  ['--mailer-token=… with a space', ['--mailer-token=sixteen chars secret!'], {}, 'sixteen chars secret!'],
  ['--mailer-token of one character', ['--mailer-token', 'Q'], {}, 'Q'],
  ['MAILER_TOKEN too short', [], { MAILER_TOKEN: 'bar-secret' }, 'bar-secret'],
  ['MAILER_TOKEN with a space', [], { MAILER_TOKEN: 'sixteen chars secret!' }, 'sixteen chars secret!'],
  ['--mailer with a password', ['--mailer', 'http://u:pa55w0rd-x@127.0.0.1:1'], {}, 'pa55w0rd-x'],
  ['MAILER_URL with a password', [], { MAILER_URL: 'http://u:pa55w0rd-x@127.0.0.1:1' }, 'pa55w0rd-x'],
  ['--target with a password', ['--target', 'http://u:pa55w0rd-x@127.0.0.1:1/'], {}, 'pa55w0rd-x'],
  ['TARGET with a password', [], { TARGET: 'http://u:pa55w0rd-x@127.0.0.1:1/' }, 'pa55w0rd-x'],
];
for (const [name, args, env, secret] of SECRET_CASES) {
  test(`secret: ${name} is refused without its value in any line`, () => {
    const r = runBundle('agent', args, env);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n').filter((l) => l).length, 1);
    // A one-character secret would match any text: look for it as a whole quoted or bare word.
    if (secret.length === 1) assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`['"\\s]${secret}['"\\s.]`));
    else assert.ok(!(r.stdout + r.stderr).includes(secret), `no ${secret} in: ${r.stderr}`);
  });
}

test('secret: a good --mailer-token never appears while the agent runs and retries (debug level)', async () => {
  const token = 'tok-0123456789abcdef-secret';
  const agent = startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--mailer', '127.0.0.1:1', '--mailer-token', token, '--log-level', 'debug']);
  try {
    await agent.waitFor(/retrying in/);
  } finally {
    await agent.stop();
  }
  assert.ok(!agent.output().includes(token));
});

// --- an empty env var means unset ---

test('empty env vars are unset: the agent starts with its defaults (MAILER_TOKEN= among them)', async () => {
  const empty = Object.fromEntries(
    ['MAILER_TOKEN', 'MAILER_URL', 'MAILER_PROTOCOL', 'CONFIG_FILE', 'INTERVAL', 'TIMEOUT', 'CONNECT_TIMEOUT', 'EXPECT_STATUS', 'BODY_CONTAINS', 'BODY_NOT_CONTAINS', 'MAX_RESPONSE_TIME', 'FAILURE_THRESHOLD', 'SUCCESS_THRESHOLD', 'REMIND_EVERY', 'MAX_REMINDERS', 'ALERT_TO', 'ALERT_MESSAGE', 'ALERT_UP_MESSAGE', 'EXIT_ON_ALERT', 'VIEW', 'METRICS_PORT', 'MAX_PENDING_ALERTS', 'LOG_FORMAT', 'LOG_LEVEL'].map((n) => [n, '']),
  );
  const agent = startBundle('agent', ['--target', webUrl, '--mailer', '127.0.0.1:1'], empty);
  try {
    await agent.waitFor(/System up\./);
  } finally {
    await agent.stop();
  }
  // Nothing but the start-up check's line about the mailer that is not there (port 1).
  assert.equal(agent.stderr().replace(/^Mailer unreachable at 127\.0\.0\.1:1: connection refused; alerts wait and are retried until it answers\.\n/m, ''), '');
});

test('empty env vars are unset in the mailer too: MAILER_TOKEN= does not stop it', async () => {
  const port = await freePort();
  const mailer = startBundle('mailer', ['--port', String(port), '--bind', '127.0.0.1'], { MAILER_TOKEN: '', LOG_LEVEL: '', LOG_FORMAT: '', ALERT_TO: '', RAW_PROTOCOL: '' });
  try {
    await mailer.waitFor(/CH2 Example Mailer has started\./);
  } finally {
    await mailer.stop();
  }
});

// --- messages fit what the mailer takes, suffixes included ---

test('--message at the limit less the reminder suffix starts; one more character is refused', async () => {
  // Reminders on, at most 10: " Still down after <16 characters> (reminder 10 of 10)." is 55 characters.
  const longest = 4096 - 55;
  const refused = runBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--remind-every', '1m', '--message', 'x'.repeat(longest + 1)]);
  assertRefused(refused, new RegExp(`--message \\(ALERT_MESSAGE\\) is longer than ${longest} characters.*mailer would refuse`));
  const fits = startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--mailer', '127.0.0.1:1', '--remind-every', '1m', '--message', 'x'.repeat(longest)]);
  try {
    await fits.waitFor(/System down/);
  } finally {
    await fits.stop();
  }
  // " Down for <16 characters>." is 27.
  const up = runBundle('agent', ['--target', 'tcp://127.0.0.1:1'], { ALERT_UP_MESSAGE: 'y'.repeat(4096 - 27 + 1) });
  assertRefused(up, /--up-message \(ALERT_UP_MESSAGE\) is longer than 4069 characters/);
});

test('the config file limits message and upMessage the same way', () => {
  const path = file('long.json', JSON.stringify({ targets: [{ url: 'tcp://127.0.0.1:1', upMessage: 'y'.repeat(4070) }] }));
  assertRefused(runBundle('agent', ['--config', path]), /targets\[0\]: "upMessage": longer than 4069 characters/);
});

// --- options that cannot apply to a tcp:// target ---

for (const [flag, value] of [
  ['--body-contains', 'Welcome'],
  ['--body-not-contains', 'Error'],
  ['--expect-status', '200'],
] as const) {
  test(`${flag} with a tcp:// target exits 2 with one line`, () => {
    assertRefused(runBundle('agent', ['--target', 'tcp://127.0.0.1:1', flag, value]), new RegExp(`${flag} \\(.*\\) cannot apply to --target tcp://127\\.0\\.0\\.1:1`));
  });
}

test('BODY_CONTAINS with a tcp:// target exits 2 too', () => {
  assertRefused(runBundle('agent', ['--target', 'tcp://127.0.0.1:1'], { BODY_CONTAINS: 'x' }), /--body-contains \(BODY_CONTAINS\) cannot apply/);
});

test('a tcp:// target with its own bodyContains or expectStatus in the config file exits 2', () => {
  for (const key of ['bodyContains', 'bodyNotContains', 'expectStatus']) {
    const path = file(`tcp-${key}.json`, JSON.stringify({ targets: [{ url: 'tcp://127.0.0.1:1', [key]: key === 'expectStatus' ? 200 : 'x' }] }));
    assertRefused(runBundle('agent', ['--config', path]), new RegExp(`targets\\[0\\]: "${key}": cannot apply to a tcp:// target`));
  }
});

test('--max-response-time applies to a tcp:// target (the connect time): accepted', async () => {
  const agent = startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--max-response-time', '1s', '--mailer', '127.0.0.1:1']);
  try {
    await agent.waitFor(/System down: connection refused\./);
  } finally {
    await agent.stop();
  }
});

// --- the config file takes what the CLI takes ---

test('config file: interval as a bare number of seconds and expectStatus as a list, as the CLI takes them', async () => {
  const path = file('values.yaml', `targets:\n  - url: ${webUrl}\n    interval: 0.2\n    expectStatus: [200, 2xx]\n    failureThreshold: "2"\n`);
  const agent = startBundle('agent', ['--config', path, '--mailer', '127.0.0.1:1', '--log-level', 'debug']);
  const before = hits;
  try {
    await agent.waitFor(/System up\./);
    const start = hits;
    await new Promise((r) => setTimeout(r, 1000));
    // 0.2 s between checks: about 5 in a second (the CLI's --interval 0.2 gives the same); 1 s would give 1.
    assert.ok(hits - start >= 3, `checks every 0.2s: ${hits - start} in 1s`);
  } finally {
    await agent.stop();
  }
  assert.ok(hits > before);
});

// --- the mailer address ---

test('--mailer http://host without a port means the mailer port 33333, not 80', async () => {
  const agent = startBundle('agent', ['--target', webUrl, '--mailer', 'http://127.0.0.1', '--log-level', 'debug']);
  try {
    await agent.waitFor(/alerts go to 127\.0\.0\.1:33333 \(json\)/);
  } finally {
    await agent.stop();
  }
});

test('--mailer http://… with --mailer-protocol raw exits 2 with one line', () => {
  assertRefused(runBundle('agent', ['--mailer', 'http://127.0.0.1:33333', '--mailer-protocol', 'raw']), /--mailer http:\/\/… \(MAILER_URL\) speaks JSON/);
});

// --- output is not diagnostics ---

test('--log-level warn keeps the Alert: lines (the agent\'s output) and hides the per-check lines', async () => {
  const agent = startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--mailer', '127.0.0.1:1', '--log-level', 'error']);
  try {
    await agent.waitFor(/^Alert: tcp:\/\/127\.0\.0\.1:1 is down \(connection refused\); telling the mailer\.$/m);
  } finally {
    await agent.stop();
  }
  assert.doesNotMatch(agent.output(), /System down/);
  assert.doesNotMatch(agent.output(), /retrying in/, 'a warning is hidden at --log-level error');
});

test('mailer --log-level warn keeps the log channel\'s Sending email lines', async () => {
  const port = await freePort();
  const mailer = startBundle('mailer', ['--port', String(port), '--bind', '127.0.0.1', '--log-level', 'warn']);
  const agent = startBundle('agent', ['--target', 'tcp://127.0.0.1:1', '--mailer', `127.0.0.1:${port}`, '--log-level', 'warn']);
  try {
    await mailer.waitFor(/^Sending email: To: admin@work Message: The service is down!$/m);
  } finally {
    await Promise.all([agent.stop(), mailer.stop()]);
  }
});

// --- every reason is one line ---

test('a TLS failure (https to a plain-TCP server) is one line in System down: and Alert:', async () => {
  // A server that answers a TLS hello with plain text: OpenSSL's "wrong version number" text ends in a line break.
  const plain = createTcpServer((s) => {
    s.on('error', () => {});
    s.end('HTTP/1.1 400 Bad Request\r\n\r\nnot tls\r\n');
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const port = (plain.address() as AddressInfo).port;
  const agent = startBundle('agent', ['--target', `https://127.0.0.1:${port}/`, '--mailer', '127.0.0.1:1']);
  try {
    await agent.waitFor(/^Alert: .* is down/m);
  } finally {
    await agent.stop();
    plain.close();
  }
  const lines = agent.stdout().split('\n').filter((l) => l);
  const known = /^(System up\.|System down: .+\.|Alert: .+; telling the mailer\.)$/;
  for (const line of lines) assert.match(line, known, `a line of its own: ${JSON.stringify(line)}`);
  assert.ok(lines.some((l) => /^System down: .*(TLS|SSL|EPROTO|version)/i.test(l)), agent.stdout());
});
