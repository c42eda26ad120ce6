import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../support/process.ts';

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
  ['agent', ['--target', 'http://a/', '--target', 'ftp://b/'], {}, /--target.*'ftp:\/\/b\/'.*http:\/\/, https:\/\/, tcp:\/\/ or dns:\/\//],
  ['agent', ['--target', 'tcp://db'], {}, /tcp:\/\/ target needs a port/],
  ['agent', ['--target', 'http://a/', '--target', 'http://a/'], {}, /--target http:\/\/a\/ is given twice/],
  ['agent', [], { TARGET: 'http://a/, gopher://b/' }, /--target.*'gopher:\/\/b\/'/],
  ['agent', ['--target', 'http://user:secret@a/'], {}, /Credentials in the target URL are not supported/],
  ['agent', ['--config', '/nonexistent/ch2.yaml'], {}, /config file \/nonexistent\/ch2\.yaml: cannot read it \(no such file\)/],
  ['agent', ['--failure-threshold', '0'], {}, /--failure-threshold.*from 1 to 100/],
  ['agent', [], { SUCCESS_THRESHOLD: 'two' }, /from env 'SUCCESS_THRESHOLD'.*whole number/],
  ['agent', ['--remind-every', '10ms'], {}, /--remind-every.*from 1s/],
  ['agent', ['--max-reminders', '-1'], {}, /--max-reminders/],
  ['agent', ['--max-response-time', 'fast'], {}, /--max-response-time.*duration/],
  ['agent', ['--body-contains', ''], {}, /--body-contains.*text/],
  ['agent', ['--to', 'admin@work,nobody'], {}, /"nobody" is not an e-mail address/],
  ['agent', ['--view', 'fancy'], {}, /auto, lines, table/],
  ['agent', [], { VIEW: 'grid' }, /from env 'VIEW'/],
  ['agent', ['--metrics-port', '70000'], {}, /--metrics-port.*from 0 to 65535/],
  ['agent', [], { METRICS_PORT: 'abc' }, /from env 'METRICS_PORT'/],
  ['agent', ['--max-pending', '0'], {}, /--max-pending/],
  ['agent', ['--mailer-token', 'short'], {}, /--mailer-token.*at least 16 characters/],
  ['agent', [], { MAILER_TOKEN: 'has spaces in it, sixteen+' }, /\(MAILER_TOKEN\): expected a token of printable ASCII without spaces \(value not shown\)/],
  ['agent', ['--mailer-token', 'abcdefghijklmnop1234', '--mailer-protocol', 'raw'], {}, /--mailer-token \(MAILER_TOKEN\) needs --mailer-protocol json/],
  ['mailer', ['--port', 'abc'], {}, /--port.*'abc'/],
  ['mailer', [], { PORT: '70000' }, /from env 'PORT'/],
  ['mailer', ['--to', 'a@b,nope'], {}, /"nope" is not an e-mail address/],
  ['mailer', ['--smtp', 'http://mail:25'], {}, /smtp:\/\//],
  ['mailer', [], { SMTP_URL: 'not a url' }, /--smtp \/ SMTP_URL: expected smtp:\/\/host:port/],
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

test('agent: a mailer token never reaches the error line', () => {
  const { code, stderr, stdout } = run('agent', ['--mailer-token', 'tok3n-s3cret-value-123456', '--mailer-protocol', 'raw']);
  assert.equal(code, 2);
  assert.doesNotMatch(stderr + stdout, /tok3n-s3cret-value-123456/);
});

test('agent: --help lists the new flags with their env vars', () => {
  const { code, stdout } = run('agent', ['--help']);
  assert.equal(code, 0);
  const help = stdout.replace(/\s+/g, ' ');
  for (const env of ['TARGET', 'CONFIG_FILE', 'FAILURE_THRESHOLD', 'SUCCESS_THRESHOLD', 'REMIND_EVERY', 'MAX_REMINDERS', 'VIEW', 'METRICS_PORT', 'MAILER_TOKEN', 'BODY_CONTAINS', 'BODY_NOT_CONTAINS', 'MAX_RESPONSE_TIME', 'MAX_PENDING_ALERTS']) {
    assert.match(help, new RegExp(`env: ${env}\\)`), env);
  }
});

test('mailer: a rejected SMTP URL is echoed without its password', () => {
  const { code, stderr } = run('mailer', ['--smtp', 'ftp://alice:hunter2secret@mail:25']);
  assert.equal(code, 2);
  assert.match(stderr, /--smtp/);
  assert.doesNotMatch(stderr, /hunter2secret/);
});
