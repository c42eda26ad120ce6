/**
 * The mailer bundle with a Postgres store URL, no server needed: a bad URL
 * (or STORE_URL and STORE_DIR both set) exits 2 with one line and never the
 * password; a server that does not answer is waited for with one line, and a
 * stop while it waits ends the mailer at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, run, start } from '../support/process.ts';

const SECRET = 'n0t-shown-Pw';

for (const [args, env, reason] of [
  [['--store', `postgres://ch2:${SECRET}@db:5432/`], {}, /--store: expected one database name/],
  [[], { STORE_URL: `postgresql://ch2:${SECRET}@db/ch2?sslmode=sometimes` }, /STORE_URL: sslmode must be one of/],
  [[], { STORE_URL: `postgres://ch2:${SECRET}@db/ch2`, STORE_DIR: '/tmp/x' }, /STORE_URL and STORE_DIR are both set/],
  [[], { STORE_DIR: `postgres://ch2:${SECRET}@db/ch2` }, /STORE_DIR: expected a folder; a postgres:\/\/ URL goes in STORE_URL/],
] as Array<[string[], Record<string, string>, RegExp]>) {
  test(`mailer: store ${JSON.stringify(args)} ${JSON.stringify(Object.keys(env))} exits 2 with one line, no password`, () => {
    const { code, stdout, stderr } = run('mailer', args, env);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^ch2-mailer: /);
    assert.match(lines[0]!, reason);
    assert.ok(!stderr.includes(SECRET), stderr);
  });
}

test('mailer: a Postgres server that does not answer is waited for, said in one line without the password; SIGTERM ends the wait at once', async () => {
  const port = await freePort();
  const mailer = start('mailer', ['--port', '0', '--bind', '127.0.0.1', '--store', `postgres://ch2:${SECRET}@127.0.0.1:${port}/ch2`]);
  try {
    await mailer.waitFor(new RegExp(`Store postgres://ch2@127\\.0\\.0\\.1:${port}/ch2: cannot reach the server \\(ECONNREFUSED.*\\); retrying every second until it answers\\.`), 5000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(mailer.child.exitCode, null, 'still waiting after a few retries');
    assert.equal(mailer.output().trim().split('\n').length, 1, `one line while it waits: ${mailer.output()}`);
    assert.ok(!mailer.output().includes(SECRET));
    const t0 = Date.now();
    mailer.child.kill('SIGTERM');
    assert.equal(await mailer.exited, 0);
    assert.ok(Date.now() - t0 < 1000, `stopped within ${Date.now() - t0} ms`);
  } finally {
    await mailer.stop();
  }
});
