/**
 * `ch2-mailer healthcheck` (the image's HEALTHCHECK, which Docker runs without
 * the container's arguments) on the mailer bundle: it finds a mailer started
 * with a port of its own (--port 0 here) through the store folder, named by
 * --store or STORE_DIR as for the mailer, and exits 0 on /healthz 200; 1 once
 * that mailer has stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run, startMailer } from '../support/process.ts';

test('the healthcheck finds a mailer on a port of its own through its store, and fails once it stopped', async () => {
  const store = mkdtempSync(join(tmpdir(), 'ch2-hc-store-'));
  try {
    const mailer = await startMailer(['--store', store]);
    try {
      for (const [args, env] of [[['healthcheck', '--store', store], {}], [['healthcheck'], { STORE_DIR: store }]] as const) {
        const r = run('mailer', [...args], env);
        assert.equal(r.code, 0, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, 'healthz: HTTP 200\n');
      }
    } finally {
      await mailer.stop();
    }
    const r = run('mailer', ['healthcheck', '--store', store]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^healthz: connect ECONNREFUSED 127\\.0\\.0\\.1:${mailer.port}\\n$`));
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
