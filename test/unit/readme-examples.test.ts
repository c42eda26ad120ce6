/**
 * The README's code blocks cannot drift from docs/examples/, which the
 * integration suite runs on the images (test/integration/readme-examples.test.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { example, readmeBlocks, ROOT, steps } from '../support/readme.ts';

test('every README code block is marked as an example or as not one', () => {
  for (const block of readmeBlocks()) {
    assert.ok(block.example ?? block.noExample, `README.md:${block.line}: a code block with no <!-- example: … --> or <!-- no-example: … --> line above it`);
  }
});

test('every example block is its docs/examples/ file, byte for byte', () => {
  for (const block of readmeBlocks()) {
    if (!block.example) continue;
    assert.equal(block.text, example(block.example), `README.md:${block.line} differs from ${block.example}`);
  }
});

test('every file in docs/examples/ is in the README and run by the integration suite', () => {
  const runners = readdirSync(join(ROOT, 'test/integration')).filter((f) => /^readme-.*\.test\.ts$/.test(f));
  const runner = runners.map((f) => readFileSync(join(ROOT, 'test/integration', f), 'utf8')).join('\n');
  const inReadme = new Set(readmeBlocks().flatMap((b) => (b.example ? [b.example] : [])));
  for (const name of readdirSync(join(ROOT, 'docs/examples'))) {
    const path = `docs/examples/${name}`;
    assert.ok(inReadme.has(path), `${path} is in no README block`);
    assert.ok(runner.includes(`'${path}'`), `${path} is run by no test in test/integration/readme-*.test.ts`);
  }
});

test('the testcontainers example (examples/testcontainers/, run by test/integration/testcontainers-module) is in the README', () => {
  const inReadme = new Set(readmeBlocks().flatMap((b) => (b.example ? [b.example] : [])));
  for (const name of readdirSync(join(ROOT, 'examples/testcontainers')).filter((f) => f.endsWith('.js'))) {
    assert.ok(inReadme.has(`examples/testcontainers/${name}`), `examples/testcontainers/${name} is in no README block`);
  }
});

test('the shell examples are plain commands the test can run word by word', () => {
  for (const block of readmeBlocks()) {
    if (block.example?.endsWith('.sh')) assert.ok(steps(block.text).length > 0, block.example);
  }
  assert.throws(() => steps('docker run "quoted"\n'), /shell syntax/);
  assert.deepEqual(steps('docker logs mailer\n# a line\n'), [{ argv: ['docker', 'logs', 'mailer'], expect: ['a line'] }]);
});
