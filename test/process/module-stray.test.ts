/**
 * A channel module's stray promise (a fire-and-forget call that rejects,
 * nobody awaiting it) does not stop the mailer bundle: the rejection is
 * logged as one error line, and the next alert is taken and delivered.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startMailer } from '../support/process.ts';

const STRAY = join(import.meta.dirname, '..', 'fixtures', 'own-channels', 'stray.mjs');

async function post(port: number, id: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'admin@work', message: `down ${id}`, id }) });
  await res.arrayBuffer();
  return res.status;
}

test("a module's unhandled rejection is logged, and the mailer goes on taking and delivering alerts", async () => {
  const mailer = await startMailer(['--channel-module', STRAY]);
  try {
    assert.equal(await post(mailer.port, 'first'), 202);
    await mailer.waitFor(/Unhandled rejection \(a channel module's stray promise, or a bug\): stray rejection from the module; the mailer goes on\./);
    assert.equal(await post(mailer.port, 'second'), 202);
    await mailer.waitFor(/Sending email: To: admin@work Message: down second/);
    await mailer.waitFor(/Unhandled rejection[^\n]*\n[\s\S]*Unhandled rejection/);
    assert.equal(mailer.child.exitCode, null, 'still running');
  } finally {
    await mailer.stop();
  }
});
