/**
 * How the mailer bundle stops (shared/shutdown.ts): a shutdown still pending
 * after its grace (a channel module whose close never settles) exits 1 with
 * one line naming the step still pending; a second SIGTERM or SIGINT during
 * the shutdown exits at once with 128 + the signal's number (143, 130).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startMailer } from '../support/process.ts';

const SLOW_CLOSE = join(import.meta.dirname, '..', 'fixtures', 'own-channels', 'slow-close.mjs');
const GRACE_MS = 500;

test('a shutdown still pending after the grace exits 1, with one line naming what was pending', async () => {
  const mailer = await startMailer(['--channel-module', SLOW_CLOSE]);
  const sent = Date.now();
  mailer.child.kill('SIGTERM');
  const code = await mailer.exited;
  const took = Date.now() - sent;
  assert.equal(code, 1, mailer.output());
  assert.ok(took >= GRACE_MS - 50 && took < GRACE_MS + 1000, `exited after ${took}ms`);
  const lines = mailer.output().split('\n').filter((l) => /Stopping took longer/.test(l));
  assert.deepEqual(lines, [`Stopping took longer than ${GRACE_MS}ms: exiting 1; still pending: the channels (deliveries in flight, each channel's close).`]);
});

for (const [second, expected] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`a second ${second} while stopping exits at once with ${expected}`, async () => {
    const mailer = await startMailer(['--channel-module', SLOW_CLOSE]);
    mailer.child.kill('SIGTERM');
    await mailer.waitFor(/slow-close: closing, and never done/);
    const sent = Date.now();
    mailer.child.kill(second);
    const code = await mailer.exited;
    assert.equal(code, expected, mailer.output());
    assert.ok(Date.now() - sent < GRACE_MS, `exited ${Date.now() - sent}ms after the second signal`);
    assert.match(mailer.output(), new RegExp(`^Second ${second} while stopping: exiting at once \\(${expected}\\); still pending: the channels`, 'm'));
  });
}
