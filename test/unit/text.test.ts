import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cut, flatten, oneLine, preview, printable } from '../../shared/text.ts';

test('oneLine escapes control characters so a log line cannot be forged', () => {
  assert.equal(oneLine('a\nb\rc\u0007'), 'a\\nb\\rc\\x07');
});

test('preview is oneLine cut to a length', () => {
  assert.equal(preview('a\nb', 80), 'a\\nb');
  assert.equal(preview('x'.repeat(100), 10), `${'x'.repeat(10)}…`);
});

test('flatten collapses control characters and white space, then cuts', () => {
  assert.equal(flatten('  a\r\n\tb  \u0000 c '), 'a b c');
  assert.equal(flatten('abcdef', 4), 'abc…');
});

test('printable shows C0, DEL and C1 controls as a stand-in', () => {
  assert.equal(printable('a\u001b[31mb\u009bc\u007f'), 'a?[31mb?c?');
});

test('cut never splits a surrogate pair', () => {
  assert.equal(cut('ab😀cd', 4), 'ab…');
});

test('property: no sanitiser output holds a line break or control character; each is at most its length', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 100 }), (text, max) => {
      for (const out of [oneLine(text), preview(text, max), flatten(text, max)]) assert.doesNotMatch(out, /[\u0000-\u0008\u000a-\u001f\u007f]/);
      assert.doesNotMatch(printable(text), /[\u0000-\u001f\u007f-\u009f]/);
      assert.ok(flatten(text, max).length <= max);
      assert.ok(preview(text, max).length <= max + 1);
    }),
    { numRuns: 2000 },
  );
});
