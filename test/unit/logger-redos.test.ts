/**
 * The log scrubber runs on every line, and lines carry untrusted text (the
 * log channel prints a raw alert whole, up to --max-bytes): it must take
 * linear time. Found by npm run fuzz: 64 KiB of letters pinned the mailer's CPU.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeScrubber, REDACTED } from '../../shared/logger.ts';

test('the scrubber still takes the password out of a URL', () => {
  const scrub = makeScrubber();
  assert.equal(scrub('to smtp://alice:s3cret@smtp:2525 and HTTPS://u:p@h/'), `to smtp://alice:${REDACTED}@smtp:2525 and HTTPS://u:${REDACTED}@h/`);
});

test('the scrubber takes linear time on a long line of letters, colons and slashes', () => {
  const scrub = makeScrubber(['s3cret-token']);
  const small = 'a'.repeat(4096);
  const big = 'a'.repeat(65536);
  for (const unit of ['a', 'a:', 'a://', 'ab:/']) {
    const t0 = performance.now();
    scrub(unit.repeat(small.length / unit.length));
    const t1 = performance.now();
    scrub(unit.repeat(big.length / unit.length));
    const t2 = performance.now();
    // 16 times the text: well under 16² times the time (quadratic would be 256x).
    assert.ok(t2 - t1 < Math.max(200, (t1 - t0) * 64), `${JSON.stringify(unit)}: ${(t1 - t0).toFixed(1)}ms for 4 KiB, ${(t2 - t1).toFixed(1)}ms for 64 KiB`);
  }
});
