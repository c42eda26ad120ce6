/**
 * The mailer as users run it (the bundle dist/mailer.mjs, built here with
 * scripts/build.ts): a bad SMTP URL stops it at start with exit status 2 and
 * one line that names the problem and never the password; `?tls=off` starts
 * with a warning at warn level.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../support/process.ts';

const store = mkdtempSync(join(tmpdir(), 'ch2-smtp-url-'));

before(() => {
  const built = spawnSync(process.execPath, ['scripts/build.ts', 'mailer'], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
});
after(() => rmSync(store, { recursive: true, force: true }));

/** Runs the bundle until it exits, or for `ms` at the most (then stops it). */
async function run(args: string[], env: Record<string, string> = {}, ms = 5000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const port = String(await freePort());
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/mailer.mjs', '--port', port, '--bind', '127.0.0.1', '--store', store, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (/has started/.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

test('a bad SMTP URL exits 2 with one line, without the password (flag and env var)', { timeout: 30_000 }, async () => {
  for (const [args, env, re] of [
    [['--smtp', 'smtp://alice:100%@mail.example:587'], {}, /the password in the URL is not valid %-encoding: write a % in it as %25/],
    [[], { SMTP_URL: 'smtp://alice:100%@mail.example:587' }, /the password in the URL is not valid %-encoding/],
    [['--smtp', 'smtp://alice:hunter2x@mail.example:587?requireTLS=true'], {}, /unknown parameter in the URL; known: tls=off/],
    [['--smtp', 'smtps://alice:hunter2x@mail.example?tls=off'], {}, /contradicts smtps/],
  ] as const) {
    const { code, stderr } = await run([...args], { ...env });
    assert.equal(code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${stderr}`);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^ch2-mailer: --smtp \/ SMTP_URL: /);
    assert.match(lines[0]!, re);
    assert.doesNotMatch(stderr, /100%|hunter2x|alice|URIError|at /);
  }
});

test('?tls=off starts, with a warning that shows at --log-level warn and names no password', { timeout: 30_000 }, async () => {
  const { stdout, stderr } = await run(['--smtp', 'smtp://alice:hunter2x@127.0.0.1:9?tls=off', '--log-level', 'warn']);
  const out = stdout + stderr;
  assert.match(out, /SMTP smtp:\/\/127\.0\.0\.1:9 \(smtp\): \?tls=off: no STARTTLS, the credentials go in clear text/);
  assert.doesNotMatch(out, /hunter2x/);
});
