/** The one parser of target settings for flags and config files (agent/setting-values.ts), and shared/duration.ts: property-based. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseMailerAddress } from '../../agent/mailer-address.ts';
import { durationValue, expectStatusValue, remindEveryValue, wholeValue } from '../../agent/setting-values.ts';
import { formatDurationCoarse, formatDurationFlag, formatElapsed, parseDuration } from '../../shared/duration.ts';

const LIMITS: readonly [number, number] = [100, 3_600_000];

/** A parser either returns or throws an Error whose message is one line. */
function oneLineOrValue(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, 'throws an Error');
    assert.doesNotMatch(err.message, /[\r\n]/);
  }
}

test('durations: any value is a duration or a one-line refusal; a flag text, its number of seconds and its string agree', () => {
  fc.assert(fc.property(fc.anything(), (v) => oneLineOrValue(() => durationValue(v, LIMITS))));
  fc.assert(fc.property(fc.string(), (v) => oneLineOrValue(() => durationValue(v, LIMITS))));
  fc.assert(
    fc.property(fc.integer({ min: LIMITS[0], max: LIMITS[1] }), (ms) => {
      assert.equal(durationValue(formatDurationFlag(ms), LIMITS), ms, 'formatDurationFlag round-trips');
      assert.equal(parseDuration(formatDurationFlag(ms)), ms);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3600 }), (s) => {
      assert.equal(durationValue(s, LIMITS), s * 1000, 'a bare number is seconds');
      assert.equal(durationValue(String(s), LIMITS), s * 1000, 'as the CLI takes it');
    }),
  );
  assert.equal(remindEveryValue('off', [1000, 10_000]), 0);
  assert.equal(remindEveryValue(0, [1000, 10_000]), 0);
});

test('counts: a number and its decimal text agree; anything else is a one-line refusal', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), (n) => assert.equal(wholeValue(String(n), [1, 100]), wholeValue(n, [1, 100]))));
  fc.assert(fc.property(fc.anything(), (v) => oneLineOrValue(() => wholeValue(v, [1, 100]))));
});

test('expectStatus: a list and its comma-separated text mean the same statuses', () => {
  const item = fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 1, max: 5 }).map((c) => `${c}xx`));
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), fc.integer({ min: 100, max: 599 }), (list, status) => {
      const fromList = expectStatusValue(list);
      const fromText = expectStatusValue(list.join(','));
      assert.equal(fromList.expectStatusSpec, fromText.expectStatusSpec);
      assert.equal(fromList.expectStatus(status), fromText.expectStatus(status));
    }),
  );
  fc.assert(fc.property(fc.anything(), (v) => oneLineOrValue(() => expectStatusValue(v))));
});

test('the mailer address: host:port, tcp:// or http://; without a port, 33333; never a throw of another kind', () => {
  fc.assert(fc.property(fc.string(), (v) => oneLineOrValue(() => parseMailerAddress(v))));
  fc.assert(
    fc.property(fc.domain(), fc.constantFrom('', 'tcp://', 'http://'), (host, scheme) => {
      const a = parseMailerAddress(`${scheme}${host}`);
      assert.equal(a.port, 33333);
      assert.equal(a.http === true, scheme === 'http://');
    }),
  );
  assert.equal(parseMailerAddress('http://m:80').port, 80, 'an explicit default port stays');
});

test('the three printed forms of a duration keep what users see', () => {
  assert.deepEqual([500, 1000, 120_000, 3_600_000, 86_400_000 * 7].map(formatDurationFlag), ['500ms', '1s', '2m', '1h', '7d']);
  assert.deepEqual([850, 3_249, 245_000, 7_380_000, 100_800_000].map(formatElapsed), ['850ms', '3.2s', '4m 05s', '2h 03m', '1d 4h']);
  assert.deepEqual([4_600, 65_000, 11_000_000].map(formatDurationCoarse), ['5s', '1m 5s', '3h 3m']);
  fc.assert(fc.property(fc.integer({ min: 0, max: 100 * 365 * 86_400_000 }), (ms) => assert.ok(formatElapsed(ms).length <= 16, 'ELAPSED_MAX_CHARS holds')));
});
