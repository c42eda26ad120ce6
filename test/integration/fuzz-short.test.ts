/**
 * A short run of npm run fuzz (test/fuzz/campaign.ts) in the suite: a few
 * thousand generated inputs against the mailer image, then it is alive, its
 * memory is bounded, nothing was answered with an unexpected 5xx, and a real
 * alert (JSON and raw) still lands; hostile reports at /api/v1/reports got a
 * 2xx or a 4xx with a JSON error, gzip bombs included. The seed is printed, for a replay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMORY_BOUND_BYTES, runCampaign } from '../fuzz/campaign.ts';

test('fuzz (short): 3,000 hostile inputs, then the mailer is alive, bounded and still delivers', { timeout: 120_000 }, async (t) => {
  const result = await runCampaign({ count: 3_000, print: (line) => t.diagnostic(line) });
  assert.equal(result.crash, undefined, `the mailer died (seed ${result.seed}); inputs saved: ${result.saved.join(', ')}`);
  assert.equal(result.serverErrors.length, 0, `inputs answered 5xx (seed ${result.seed}): ${result.saved.join(', ')}`);
  assert.equal(result.unclear.length, 0, `reports answered without a 4xx and a JSON error (seed ${result.seed}): ${result.saved.join(', ')}`);
  const reports = Object.values(result.reportAnswers).reduce((a, b) => a + b, 0);
  assert.ok(reports > 200 && (result.reportAnswers['202'] ?? 0) > 0 && (result.reportAnswers['400'] ?? 0) > 0 && (result.reportAnswers['413'] ?? 0) > 0, `reports reached /api/v1/reports, some taken, some refused, bombs stopped: ${JSON.stringify(result.reportAnswers)}`);
  assert.ok(result.alive, 'the mailer is running');
  assert.ok(result.memoryAfter < MEMORY_BOUND_BYTES, `memory ${Math.round(result.memoryAfter / 2 ** 20)} MiB`);
  assert.ok(result.landedMs !== undefined && result.landedMs.json < 2_000 && result.landedMs.raw < 2_000, `a real alert landed in ${JSON.stringify(result.landedMs)} ms`);
});
