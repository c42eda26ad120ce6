/**
 * A short run of npm run fuzz (test/fuzz/campaign.ts) in the suite: a few
 * thousand generated inputs against the mailer image, then it is alive, its
 * memory is bounded, nothing was answered with an unexpected 5xx, and a real
 * alert (JSON and raw) still lands. The seed is printed, for a replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMORY_BOUND_BYTES, runCampaign } from '../fuzz/campaign.ts';

test('fuzz (short): 3,000 hostile inputs, then the mailer is alive, bounded and still delivers', { timeout: 120_000 }, async (t) => {
  const result = await runCampaign({ count: 3_000, print: (line) => t.diagnostic(line) });
  assert.equal(result.crash, undefined, `the mailer died (seed ${result.seed}); inputs saved: ${result.saved.join(', ')}`);
  assert.equal(result.serverErrors.length, 0, `inputs answered 5xx (seed ${result.seed}): ${result.saved.join(', ')}`);
  assert.ok(result.alive, 'the mailer is running');
  assert.ok(result.memoryAfter < MEMORY_BOUND_BYTES, `memory ${Math.round(result.memoryAfter / 2 ** 20)} MiB`);
  assert.ok(result.landedMs !== undefined && result.landedMs.json < 2_000 && result.landedMs.raw < 2_000, `a real alert landed in ${JSON.stringify(result.landedMs)} ms`);
});
