/** The mailer's delivery and security flags: bad values exit 2 with one line; a store it cannot use exits 2 and says which, and how to fix it; a channel config it cannot follow (group: on a kind that cannot group) too. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run as runProgram } from '../support/process.ts';

const run = (args: string[], env: Record<string, string> = {}) => runProgram('mailer', args, env);

const BAD: Array<[args: string[], env: Record<string, string>, reason: RegExp]> = [
  [['--token', 'short'], {}, /--token.*at least 16/],
  [[], { MAILER_TOKEN: 'has a space in it, see' }, /env 'MAILER_TOKEN'.*printable ASCII/],
  [['--store', '  '], {}, /--store.*folder/],
  [[], { RAW_PROTOCOL: 'maybe' }, /RAW_PROTOCOL.*true or false/],
  [['--dedupe-window', '10s'], {}, /--dedupe-window.*from 1m/],
  [[], { DEDUPE_WINDOW: 'forever' }, /DEDUPE_WINDOW.*duration/],
  [[], { STORE_RECOVER: 'maybe' }, /STORE_RECOVER.*true or false/],
];

for (const [args, env, reason] of BAD) {
  test(`mailer: ${JSON.stringify(args)} ${JSON.stringify(env)} exits 2 with one line`, () => {
    const { code, stderr, stdout } = run(args, env);
    assert.equal(code, 2, `exit code; stderr: ${stderr}`);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${stderr}`);
    assert.match(lines[0] ?? '', /^ch2-mailer: /);
    assert.match(lines[0] ?? '', reason);
  });
}

test('mailer: a rejected token is not echoed', () => {
  const { code, stderr } = run(['--token', 'sh0rt-secret']);
  assert.equal(code, 2);
  assert.doesNotMatch(stderr, /sh0rt-secret/);
});

test('mailer: a store folder that cannot be created (/dev/null/store, /proc/x) stops the mailer at once with exit 2, one line naming it', () => {
  for (const store of ['/dev/null/store', '/proc/x']) {
    const t0 = Date.now();
    const { code, stderr } = run(['--port', '0', '--bind', '127.0.0.1', '--store', store, '--dedupe-window', '1d']);
    assert.equal(code, 2, stderr);
    assert.match(stderr, new RegExp(`Cannot use the store ${store}: .*--store`));
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.ok(Date.now() - t0 < 3000, `${store}: exited within ${Date.now() - t0} ms`);
  }
});

test('mailer: the old names --spool and SPOOL_DIR still choose the store, with one warning line each', () => {
  for (const [args, env] of [[['--spool', '/proc/x'], {}], [[], { SPOOL_DIR: '/proc/x' }]] as Array<[string[], Record<string, string>]>) {
    const { code, stderr } = run(['--port', '0', '--bind', '127.0.0.1', ...args], env);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--spool \(SPOOL_DIR\) is now --store \(STORE_DIR\)/);
    assert.match(stderr, /Cannot use the store \/proc\/x: /, 'the old name chose the folder');
  }
});

test('mailer: a --config entry asking a kind that cannot group to group stops the mailer at start, exit 2, one line naming the channel and the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-group-config-'));
  try {
    const file = join(dir, 'channels.yaml');
    writeFileSync(file, 'channels:\n  - name: pager\n    notify: pagerduty://0123456789abcdef0123456789abcdef\n    group: true\n');
    const { code, stderr, stdout } = run(['--port', '0', '--bind', '127.0.0.1', '--store', join(dir, 'store'), '--config', file]);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, new RegExp(`^ch2-mailer: config file ${file}: channel 1 \\(pager\\): group: a channel of kind pagerduty sends each alert on its own and cannot group; remove the key \\(kinds that group: smtp, webhook, `));
    assert.doesNotMatch(stderr, /0123456789abcdef/, 'the routing key is not echoed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
