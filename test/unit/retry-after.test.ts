/** shared/retry-after.ts: delay-seconds or an HTTP date (three forms); anything else is no Retry-After. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseHttpDate, parseRetryAfter } from '../../shared/retry-after.ts';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');

test('delay-seconds: digits only, as ms', () => {
  assert.equal(parseRetryAfter('7', NOW), 7000);
  assert.equal(parseRetryAfter(' 120 ', NOW), 120_000);
  assert.equal(parseRetryAfter('0', NOW), 0);
  assert.equal(parseRetryAfter(['3', '9'], NOW), 3000, 'the first of repeated headers');
});

test('junk is no Retry-After: hex, exponents, signs, fractions, loose dates, huge numbers, empty', () => {
  for (const junk of ['0x10', '1e3', '-5', '+5', '1.5', 'Infinity', 'NaN', 'soon', 'tomorrow', '2024-05-01', 'May 1 2024', '1 2', '9'.repeat(13), '', '   ', undefined]) {
    assert.equal(parseRetryAfter(junk, NOW), undefined, String(junk));
  }
  assert.equal(parseRetryAfter('Thu, 31 Feb 2024 10:00:00 GMT', NOW), undefined, 'no 31 February');
  assert.equal(parseRetryAfter('Wed, 01 May 2024 25:00:00 GMT', NOW), undefined, 'no hour 25');
});

test('HTTP dates in all three forms, as ms from now, never negative', () => {
  assert.equal(parseRetryAfter('Wed, 01 May 2024 10:01:00 GMT', NOW), 60_000);
  assert.equal(parseRetryAfter('Wednesday, 01-May-24 10:01:00 GMT', NOW), 60_000);
  assert.equal(parseRetryAfter('Wed May  1 10:01:00 2024', NOW), 60_000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', NOW), 0, 'a date past is now');
});

test('property: never throws; digits round-trip; any date written by toUTCString round-trips', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
    const ms = parseRetryAfter(text, NOW);
    assert.ok(ms === undefined || (Number.isSafeInteger(ms) && ms >= 0));
  }));
  fc.assert(fc.property(fc.nat(999_999_999), (n) => assert.equal(parseRetryAfter(String(n), NOW), n * 1000)));
  fc.assert(
    fc.property(fc.date({ min: new Date('1971-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), (d) => {
      const whole = Math.floor(d.getTime() / 1000) * 1000;
      assert.equal(parseHttpDate(new Date(whole).toUTCString()), whole);
    }),
  );
  // Anything with a character outside digits, letters, space, comma, colon and dash is refused.
  fc.assert(fc.property(fc.string(), fc.constantFrom('.', 'x', '+', '_', '/'), (text, bad) => {
    assert.equal(parseRetryAfter(`1${bad}${text.replace(/\d/g, '')}0`, NOW), undefined);
  }));
});
