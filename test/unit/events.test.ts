/** fanOut: every listener gets every event, and one that throws stops neither the others nor the caller. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AgentEvents, fanOut } from '../../agent/events.ts';

test('a listener that throws does not stop the others; its error goes to onError with the event name', () => {
  const seen: string[] = [];
  const errors: string[] = [];
  const broken: AgentEvents = {
    check() {
      throw new Error('boom');
    },
  };
  const good: AgentEvents = {
    check(target) {
      seen.push(target);
    },
  };
  const events = fanOut([broken, good], (event, err) => errors.push(`${event}: ${(err as Error).message}`));
  assert.doesNotThrow(() => events.check('web', { ok: true, latencyMs: 1, at: 0 }));
  events.check('db', { ok: true, latencyMs: 1, at: 0 });
  assert.deepEqual(seen, ['web', 'db']);
  assert.deepEqual(errors, ['check: boom', 'check: boom']);
  assert.doesNotThrow(() => events.stopped(), 'an event no listener has costs nothing');
});
