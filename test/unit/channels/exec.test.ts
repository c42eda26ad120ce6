/**
 * The exec channel against real programs (test/fixtures/exec/*.sh, #!/bin/sh):
 * the exact stdin JSON and the exact environment a program gets (read from
 * /proc/<pid>/environ, so the shell adds nothing), no secret of the mailer's
 * environment among it, exit 0/75/other classified with stderr's first line,
 * a timeout or an abort killing the whole process group, a flood of output
 * bounded, EPIPE and spawn errors survived, and the start-up checks.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Command } from 'commander';
import { ConfigError } from '../../../shared/config.ts';
import type { ChannelKind } from '../../../mailer/delivery/channels/channel.ts';
import { execChannel, type ExecSettings, execProgramArg, firstLine, runProgram } from '../../../mailer/delivery/channels/exec.ts';
import { sampleAlert } from '../../support/sample-alert.ts';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/exec');
const program = (name: string): string => join(FIXTURES, name);
const SEND = { signal: new AbortController().signal };
const kind = execChannel as ChannelKind<ExecSettings>;

let root = '';
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ch2-exec-test-'));
});
after(() => rm(root, { recursive: true, force: true }));

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(root, `d${++n}-`));
  return dir;
}

const settings = (command: string[], timeoutMs = 10_000): ExecSettings => ({ command, timeoutMs });

/** Alive: in the process table and not a zombie waiting to be reaped. */
async function alive(pid: number): Promise<boolean> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll with a deadline: the kernel delivers SIGKILL to the group, not this test. */
async function gone(pid: number, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await alive(pid))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const parse = (argv: string[], env: Record<string, string> = {}): Record<string, unknown> => {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const cmd = new Command('t').exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
    for (const option of kind.options!()) cmd.addOption(option);
    cmd.parse(argv, { from: 'user' });
    return cmd.opts();
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
  }
};

test('the program reads exactly the webhook JSON record (incident included) on stdin, and gets its arguments', async () => {
  const dir = await freshDir();
  const item = sampleAlert('ex-1', { incident: 'inc-7', downForMs: 1500 });
  const channel = kind.create(settings([program('record.sh'), dir]), { name: 'exec', log: undefined as never, from: '', httpTimeoutMs: 1 });
  assert.deepEqual(await channel.send(item, SEND), { ok: true });
  assert.equal(channel.concurrency, 4);
  assert.equal(
    await readFile(join(dir, 'stdin.json'), 'utf8'),
    '{"id":"ex-1","status":"down","to":"admin@work","message":"The service is down!","target":"http://insideweb:80/","reason":"connection refused",' +
      '"time":"2024-05-01T10:00:00.000Z","downForMs":1500,"incident":"inc-7","receivedAt":"2024-05-01T10:00:01.000Z"}\n',
  );
  assert.equal(await readFile(join(dir, 'args'), 'utf8'), `${dir}\n`);
});

test('the environment is exactly PATH, HOME, LANG, TZ and CH2_*: none of the mailer\'s secrets', async () => {
  const dir = await freshDir();
  const mailerEnv = { PATH: '/usr/bin:/bin', HOME: '/home/node', LANG: 'C.UTF-8', SMTP_URL: 'smtp://u:smtpsecret@mail', MAILER_TOKEN: 'tokensecret-0123456789', NODE_OPTIONS: '--x' };
  const item = sampleAlert('ex-2', { message: 'line one\nline two\x07', reason: undefined, target: undefined });
  const result = await runProgram(item, { ...settings([program('record.sh'), dir]), mailerEnv }, SEND.signal);
  assert.equal(result.ok, true);
  const env = (await readFile(join(dir, 'env'), 'utf8')).split('\n').filter((l) => l !== '').sort();
  assert.deepEqual(env, [
    'CH2_ALERT_ID=ex-2',
    'CH2_INCIDENT=',
    'CH2_MESSAGE=line one line two',
    'CH2_REASON=',
    'CH2_STATUS=down',
    'CH2_TARGET=',
    'CH2_TO=admin@work',
    'HOME=/home/node',
    'LANG=C.UTF-8',
    'PATH=/usr/bin:/bin',
  ]);
});

test('by default the environment comes from process.env, and its secrets stay out', async () => {
  const dir = await freshDir();
  process.env.SMTP_URL = 'smtp://u:smtpsecret@mail';
  process.env.MAILER_TOKEN = 'tokensecret-0123456789';
  try {
    assert.equal((await runProgram(sampleAlert('ex-3'), settings([program('record.sh'), dir]), SEND.signal)).ok, true);
  } finally {
    delete process.env.SMTP_URL;
    delete process.env.MAILER_TOKEN;
  }
  const env = await readFile(join(dir, 'env'), 'utf8');
  assert.ok(!env.includes('smtpsecret') && !env.includes('tokensecret'), env);
  const names = env.split('\n').filter((l) => l !== '').map((l) => l.split('=')[0]!);
  assert.ok(names.every((name) => ['PATH', 'HOME', 'LANG', 'TZ'].includes(name) || name.startsWith('CH2_')), names.join(' '));
});

test('a CH2_* value is one line and capped, however long the alert text', async () => {
  const dir = await freshDir();
  const result = await runProgram(sampleAlert('ex-4', { message: 'm'.repeat(200_000) }), settings([program('record.sh'), dir]), SEND.signal);
  assert.equal(result.ok, true);
  const line = (await readFile(join(dir, 'env'), 'utf8')).split('\n').find((l) => l.startsWith('CH2_MESSAGE='))!;
  assert.equal(line.length, 'CH2_MESSAGE='.length + 1000);
  assert.ok(line.endsWith('m…'));
  // The JSON on stdin keeps the whole message.
  assert.equal((JSON.parse(await readFile(join(dir, 'stdin.json'), 'utf8')) as { message: string }).message.length, 200_000);
});

test('exit 0: sent; 75: transient with stderr\'s first line; 1: permanent with it; no stderr: "exit N"', async () => {
  const run = (args: string[]) => runProgram(sampleAlert('ex-5'), settings([program('status.sh'), ...args]), SEND.signal);
  assert.deepEqual(await run(['0', 'noise on stderr']), { ok: true });
  assert.deepEqual(await run(['75', '', '  pager busy, later\t', 'second line']), { ok: false, retry: true, error: 'pager busy, later' });
  assert.deepEqual(await run(['75']), { ok: false, retry: true, error: 'exit 75 (temporary failure)' });
  assert.deepEqual(await run(['1', 'invalid routing key', 'usage: …']), { ok: false, retry: false, error: 'invalid routing key' });
  assert.deepEqual(await run(['3']), { ok: false, retry: false, error: 'exit 3' });
  const long = await run(['2', `${'e'.repeat(500)}`]);
  assert.equal(long.ok === false && long.error.length, 200);
});

test('firstLine: the first line with text, control characters flattened, at most 200 characters', () => {
  assert.equal(firstLine('\n\r\n  \nboom\x1b[31m red\nnext'), 'boom [31m red');
  assert.equal(firstLine(''), '');
  assert.equal(firstLine('x'.repeat(1000)).length, 200);
});

test('a timeout kills the whole process group (the program and its sleep 1000 child), and is transient', async () => {
  const dir = await freshDir();
  const t0 = Date.now();
  const result = await runProgram(sampleAlert('ex-6'), settings([program('forker.sh'), dir], 1000), SEND.signal);
  assert.deepEqual(result, { ok: false, retry: true, error: 'no answer within 1s (killed)' });
  assert.ok(Date.now() - t0 < 4000, `settled after ${Date.now() - t0} ms`);
  const [leader, child] = (await readFile(join(dir, 'pids'), 'utf8')).trim().split(' ').map(Number) as [number, number];
  assert.ok(await gone(leader), `the program ${leader} is still alive`);
  assert.ok(await gone(child), `its child ${child} (sleep 1000) is still alive`);
});

test('the dispatcher\'s abort kills the process group too, and a send aborted before it starts runs nothing', async () => {
  const dir = await freshDir();
  const controller = new AbortController();
  const pending = runProgram(sampleAlert('ex-7'), settings([program('forker.sh'), dir], 60_000), controller.signal);
  // Abort once the program has started its child.
  const deadline = Date.now() + 5000;
  while (!(await stat(join(dir, 'pids')).catch(() => undefined)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  controller.abort(new Error('shutdown'));
  assert.deepEqual(await pending, { ok: false, retry: true, error: 'send cancelled (killed)' });
  const [leader, child] = (await readFile(join(dir, 'pids'), 'utf8')).trim().split(' ').map(Number) as [number, number];
  assert.ok((await gone(leader)) && (await gone(child)), 'the process group is gone');

  const dir2 = await freshDir();
  assert.deepEqual(await runProgram(sampleAlert('ex-8'), settings([program('record.sh'), dir2]), controller.signal), { ok: false, retry: true, error: 'send cancelled' });
  await assert.rejects(stat(join(dir2, 'stdin.json')), { code: 'ENOENT' });
});

test('a flood of stdout and stderr (256 MiB each) stays bounded: the peak memory grows by far less, the reason is its first line', async () => {
  const before = process.resourceUsage().maxRSS;
  const result = await runProgram(sampleAlert('ex-9'), settings([program('flood.sh'), '256'], 60_000), SEND.signal);
  assert.deepEqual(result, { ok: false, retry: false, error: 'flood begins' });
  // Reading the pipe makes garbage (about 50 MiB of peak RSS here); keeping the flood would add 256 MiB or more.
  const grewKiB = process.resourceUsage().maxRSS - before;
  assert.ok(grewKiB < 128 * 1024, `the peak RSS grew by ${grewKiB} KiB`);
});

test('a program that exits without reading stdin (EPIPE on a 1 MiB alert) does not crash the mailer', async () => {
  const big = sampleAlert('ex-10', { message: 'x'.repeat(1024 * 1024) });
  for (let i = 0; i < 5; i += 1) assert.deepEqual(await runProgram(big, settings([program('status.sh'), '0']), SEND.signal), { ok: true });
});

test('spawn errors: a program gone since start is transient; a missing #! interpreter is permanent', async () => {
  const dir = await freshDir();
  const path = join(dir, 'gone.sh');
  await writeFile(path, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const s = settings([execProgramArg(path)]);
  await rm(path);
  const gone = await runProgram(sampleAlert('ex-11'), s, SEND.signal);
  assert.equal(gone.ok === false && gone.retry, true);
  assert.match(gone.ok === false ? gone.error : '', /gone\.sh: it no longer exists \(ENOENT\)/);
  const bad = await runProgram(sampleAlert('ex-12'), settings([program('bad-interpreter.sh')]), SEND.signal);
  assert.equal(bad.ok === false && bad.retry, false);
  assert.match(bad.ok === false ? bad.error : '', /bad-interpreter\.sh: ENOENT \(its #! interpreter does not exist\?\)/);
});

test('--exec checks at start: missing, a folder, not executable; one settings object per program; EXEC_COMMAND a list', async () => {
  const dir = await freshDir();
  const plain = join(dir, 'plain.sh');
  await writeFile(plain, '#!/bin/sh\nexit 0\n');
  await chmod(plain, 0o644);
  assert.throws(() => execProgramArg(join(dir, 'nope')), /nope does not exist/);
  assert.throws(() => execProgramArg(dir), /is not a file/);
  assert.throws(() => execProgramArg(plain), /plain\.sh is not executable by uid \d+/);
  assert.throws(() => parse(['--exec', plain]), /not executable/);
  assert.throws(() => parse(['--exec', program('record.sh'), '--exec', program('record.sh')]), /given twice/);

  const opts = parse(['--exec', program('record.sh'), '--exec-timeout', '2s'], { EXEC_COMMAND: `${program('status.sh')}` });
  assert.deepEqual(kind.fromOptions!({ exec: opts.exec, execTimeout: opts.execTimeout }), [
    { command: [program('record.sh')], timeoutMs: 2000 },
  ]);
  const fromEnv = parse([], { EXEC_COMMAND: `${program('status.sh')}, ${program('record.sh')}` });
  assert.deepEqual(kind.fromOptions!(fromEnv), [
    { command: [program('status.sh')], timeoutMs: 10_000 },
    { command: [program('record.sh')], timeoutMs: 10_000 },
  ]);
  assert.throws(() => parse(['--exec', program('record.sh'), '--exec-timeout', '10m']), /Expected a duration from 100ms to/);
  assert.equal(kind.groups, false);
  assert.equal(kind.schemes, undefined, 'no --notify scheme');
});

test('fromConfig: command as a path or [path, args…], timeout, env (its values secrets); bad keys named', () => {
  assert.deepEqual(kind.fromConfig!({ command: program('record.sh') }), { command: [program('record.sh')], timeoutMs: 10_000 });
  assert.deepEqual(kind.fromConfig!({ command: [program('status.sh'), '75', 'x'], timeout: '500ms', env: { PAGER_KEY: 'k3y-secret', N: 5 } }), {
    command: [program('status.sh'), '75', 'x'],
    timeoutMs: 500,
    env: { PAGER_KEY: 'k3y-secret', N: '5' },
  });
  assert.deepEqual(kind.secrets!(kind.fromConfig!({ command: program('record.sh'), env: { PAGER_KEY: 'k3y-secret' } })), ['k3y-secret']);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{}, /^command: expected a program path/],
    [{ command: [] }, /^command: expected/],
    [{ command: [program('record.sh'), 5] }, /^command: expected/],
    [{ command: '/no/such/program' }, /^command: \/no\/such\/program does not exist/],
    [{ command: program('record.sh'), timeout: 'soon' }, /^timeout: /],
    [{ command: program('record.sh'), timeout: '1h' }, /^timeout: Expected a duration from 100ms to 2m/],
    [{ command: program('record.sh'), env: { CH2_STATUS: 'x' } }, /^env: 'CH2_STATUS' is not a variable name/],
    [{ command: program('record.sh'), env: { OK: { deep: 'hidden-secret' } } }, /^env\.OK: expected a string \(the value is not shown\)/],
    [{ command: program('record.sh'), shell: true }, /^shell: not a key of an exec channel/],
  ];
  for (const [entry, re] of refused) {
    assert.throws(() => kind.fromConfig!(entry), (err: Error) => err instanceof ConfigError && re.test(err.message) && !err.message.includes('hidden-secret') && !err.message.includes('\n'), JSON.stringify(entry));
  }
});

test('the config entry\'s env reaches the program beside CH2_*, and a config timeout applies', async () => {
  const dir = await freshDir();
  const s = kind.fromConfig!({ command: [program('record.sh'), dir], env: { PAGER_KEY: 'k3y' } });
  assert.equal((await runProgram(sampleAlert('ex-13'), { ...s, mailerEnv: {} }, SEND.signal)).ok, true);
  const env = (await readFile(join(dir, 'env'), 'utf8')).split('\n');
  assert.ok(env.includes('PAGER_KEY=k3y'));
  assert.ok(!env.some((l) => l.startsWith('PATH=')), 'no PATH when the mailer has none');
});
