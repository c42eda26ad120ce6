/**
 * npm run fuzz [-- --count N --seed S --concurrency C]: a fuzz campaign
 * (test/fuzz/campaign.ts) against the mailer image under CH2_IMAGE_TAG
 * (build it first: npm run images). Exits 1 if the mailer crashed, answered an
 * unexpected 5xx, grew past the memory bound or lost the real alert after it.
 */
import { parseArgs } from 'node:util';
import { MEMORY_BOUND_BYTES, runCampaign } from './campaign.ts';

const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' } } });
const int = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`fuzz: --${name} must be a whole number of at least 1, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
const result = await runCampaign({
  count: int('count', values.count, 100_000),
  ...(values.seed !== undefined ? { seed: int('seed', values.seed, 1) } : {}),
  concurrency: int('concurrency', values.concurrency, 64),
  print: (line) => console.log(line),
});
const problems = [
  ...(result.crash ? [`the mailer died; ${result.crash.length} recent inputs saved`] : []),
  ...(result.serverErrors.length > 0 ? [`${result.serverErrors.length} inputs answered 5xx (not 503)`] : []),
  ...(!result.alive ? ['the mailer is not running'] : []),
  ...(result.memoryAfter > MEMORY_BOUND_BYTES ? [`memory ${Math.round(result.memoryAfter / 2 ** 20)} MiB over the ${MEMORY_BOUND_BYTES / 2 ** 20} MiB bound`] : []),
  ...(result.landedMs === undefined ? ['no real alert landed after the campaign'] : []),
];
if (problems.length > 0) {
  console.error(`fuzz: FAILED (seed ${result.seed}): ${problems.join('; ')}`);
  console.error(result.logs.tail(40));
  process.exit(1);
}
console.log(`fuzz: ok (seed ${result.seed})`);
