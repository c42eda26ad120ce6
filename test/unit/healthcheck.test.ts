import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mailerArgsOfPid1 } from '../../mailer/healthcheck.ts';

function cmdline(...parts: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ch2-hc-')), 'cmdline');
  writeFileSync(file, `${parts.join('\0')}\0`);
  return file;
}

test('the healthcheck finds the running mailer\'s own arguments', () => {
  assert.deepEqual(mailerArgsOfPid1(cmdline('node', '/app/mailer.mjs', '--port', '4000', '--to', 'a@b')), ['--port', '4000', '--to', 'a@b']);
  assert.deepEqual(mailerArgsOfPid1(cmdline('node', 'mailer/main.ts', '--port=4001')), ['--port=4001']);
});

test('no mailer at PID 1, or no /proc: no arguments, so the defaults and env apply', () => {
  assert.deepEqual(mailerArgsOfPid1(cmdline('/sbin/init')), []);
  assert.deepEqual(mailerArgsOfPid1('/nonexistent/cmdline'), []);
});
