/**
 * `ch2-mailer healthcheck` (the image's HEALTHCHECK, which Docker runs without
 * the container's arguments) on the mailer bundle: it finds a mailer started
 * with a port of its own (--port 0 here) through the spool folder, named by
 * --spool or SPOOL_DIR as for the mailer, and exits 0 on /healthz 200; 1 once
 * that mailer has stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run, startMailer } from '../support/process.ts';

test('the healthcheck finds a mailer on a port of its own through its spool, and fails once it stopped', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'ch2-hc-spool-'));
  try {
    const mailer = await startMailer(['--spool', spool]);
    try {
      for (const [args, env] of [[['healthcheck', '--spool', spool], {}], [['healthcheck'], { SPOOL_DIR: spool }]] as const) {
        const r = run('mailer', [...args], env);
        assert.equal(r.code, 0, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, 'healthz: HTTP 200\n');
      }
    } finally {
      await mailer.stop();
    }
    const r = run('mailer', ['healthcheck', '--spool', spool]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^healthz: connect ECONNREFUSED 127\\.0\\.0\\.1:${mailer.port}\\n$`));
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
});
