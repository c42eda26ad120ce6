/** The mailer bundle refuses a --file-dir it may not write to: exit 2 at start with one line. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bundle } from '../support/process.ts';

const root = await mkdtemp(join(tmpdir(), 'ch2-file-proc-'));
after(() => rm(root, { recursive: true, force: true }));

test('a folder the mailer may not write to: exit 2 at start with a one-line reason', async () => {
  const dir = join(root, 'read-only');
  await mkdir(dir);
  await chmod(root, 0o711);
  await chmod(dir, 0o555);
  // Root may write anywhere: run it then without the capabilities that let it
  // (still root, so it can read the checkout wherever that is and whatever its mode).
  const asRoot = process.getuid?.() === 0;
  const mailer = [process.execPath, bundle('mailer'), '--port', '0', '--bind', '127.0.0.1', '--file-dir', dir];
  const dropWrite = ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search', '--'];
  const argv = asRoot ? [...dropWrite, ...mailer] : mailer;
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  await chmod(dir, 0o700);
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  assert.match(r.stderr, new RegExp(`^ch2-mailer: option '--file-dir <dir>' argument '${dir}' is invalid\\. ${dir} is not writable by uid \\d+ .*\\n$`));
  assert.doesNotMatch(r.stdout, /has started/);
});
