import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

function run(program: 'agent' | 'mailer', args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [`${program}/main.ts`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

for (const program of ['agent', 'mailer'] as const) {
  test(`${program}: --help prints usage with the env vars and exits 0`, () => {
    const { code, stdout } = run(program, ['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: ch2-/);
    assert.match(stdout, /env: LOG_FORMAT/);
  });
}

const BAD: Array<[program: 'agent' | 'mailer', args: string[], env: Record<string, string>, reason: RegExp]> = [
  ['agent', ['--bogus'], {}, /unknown option '--bogus'/],
  ['agent', ['--interval', 'soon'], {}, /--interval.*'soon'.*duration/],
  ['agent', ['--interval', '10ms'], {}, /from 100ms/],
  ['agent', ['--target', 'ftp://x/'], {}, /--target.*http:\/\//],
  ['agent', ['--mailer-protocol', 'smtp'], {}, /json, raw/],
  ['agent', ['--to', 'not-an-address'], {}, /e-mail address/],
  ['agent', ['--expect-status', '2xx,abc'], {}, /not a status/],
  ['agent', [], { INTERVAL: 'abc' }, /from env 'INTERVAL'/],
  ['agent', [], { EXIT_ON_ALERT: 'maybe' }, /EXIT_ON_ALERT/],
  ['agent', [], { INSIDEWEB_PORT_80_TCP_ADDR: '172.17.0.2', INSIDEWEB_PORT_80_TCP_PORT: 'x' }, /INSIDEWEB_PORT_80_TCP_PORT/],
  ['agent', [], { LOG_FORMAT: 'xml' }, /plain, json/],
  ['mailer', ['--port', 'abc'], {}, /--port.*'abc'/],
  ['mailer', [], { PORT: '70000' }, /from env 'PORT'/],
  ['mailer', ['--to', 'a@b,nope'], {}, /"nope" is not an e-mail address/],
  ['mailer', ['--smtp', 'http://mail:25'], {}, /smtp:\/\//],
  ['mailer', [], { SMTP_URL: 'not a url' }, /from env 'SMTP_URL'/],
  ['mailer', ['--from', 'bad\naddress'], {}, /--from/],
  ['mailer', ['--max-bytes', '1'], {}, /256/],
  ['mailer', ['--bind', 'localhst'], {}, /IP address/],
  ['mailer', [], { IDLE_TIMEOUT: '5 minutes' }, /from env 'IDLE_TIMEOUT'/],
];

for (const [program, args, env, reason] of BAD) {
  test(`${program}: ${JSON.stringify(args)} ${JSON.stringify(env)} exits 2 with one line`, () => {
    const { code, stderr, stdout } = run(program, args, env);
    assert.equal(code, 2, `exit code; stderr: ${stderr}`);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${stderr}`);
    assert.match(lines[0] ?? '', new RegExp(`^ch2-${program}: `));
    assert.match(lines[0] ?? '', reason);
  });
}

test('mailer: an SMTP password given on the command line never reaches a log line', () => {
  const { code, stderr, stdout } = run('mailer', ['--smtp', 'smtp://alice:hunter2secret@mail:25', '--port', 'bad']);
  assert.equal(code, 2);
  assert.doesNotMatch(stderr + stdout, /hunter2secret/);
});

test('mailer: a rejected SMTP URL is echoed without its password', () => {
  const { code, stderr } = run('mailer', ['--smtp', 'ftp://alice:hunter2secret@mail:25']);
  assert.equal(code, 2);
  assert.match(stderr, /--smtp/);
  assert.doesNotMatch(stderr, /hunter2secret/);
});
