/** shared/secret-files.ts: a secret file's value is its content with the trailing line breaks trimmed, and nothing else changed (fast-check). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { readSecretFile } from '../../shared/secret-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'ch2-secret-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the value is the content without its trailing \\n and \\r\\n, inner line breaks and spaces kept', () => {
  let n = 0;
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== '' && !/[\r\n]$/.test(s)),
      fc.array(fc.constantFrom('\n', '\r\n'), { maxLength: 3 }),
      (value, ends) => {
        const path = join(dir, `s${++n}`);
        writeFileSync(path, value + ends.join(''));
        assert.equal(readSecretFile('X_FILE', path, 'X'), value);
      },
    ),
    { numRuns: 300 },
  );
});

test('an empty or blank file, or one over 64 KiB, is refused naming the variable and the file', () => {
  const blank = join(dir, 'blank');
  writeFileSync(blank, ' \n\n');
  assert.throws(() => readSecretFile('X_FILE', blank, 'X'), /^ConfigError: X_FILE: .*blank is empty; it should hold X's value\.$/);
  const big = join(dir, 'big');
  writeFileSync(big, 'a'.repeat(64 * 1024 + 1));
  assert.throws(() => readSecretFile('X_FILE', big, 'X'), /X_FILE: .*big is larger than 64 KiB/);
  writeFileSync(big, 'a'.repeat(64 * 1024));
  assert.equal(readSecretFile('X_FILE', big, 'X').length, 64 * 1024);
});
