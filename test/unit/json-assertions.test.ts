/** agent/json-assertions.ts: the path language (fast-check), the config value, and the plain reasons. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { judgeJson, jsonAssertionsValue, parseJsonPath } from '../../agent/json-assertions.ts';

const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const segment = fc.oneof(name.map((n) => ({ text: `.${n}`, value: n as string | number })), fc.nat({ max: 99999 }).map((i) => ({ text: `[${i}]`, value: i })), fc.string({ maxLength: 12 }).map((k) => ({ text: `[${JSON.stringify(k)}]`, value: k })));

test('a path of names, [index] and ["key"] parses to its segments', () => {
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 8 }), (segs) => {
      assert.deepEqual(parseJsonPath(`$${segs.map((s) => s.text).join('')}`), segs.map((s) => s.value));
    }),
  );
});

test('anything else is refused with a one-line reason, never a crash', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), (text) => {
      try {
        parseJsonPath(text);
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.doesNotMatch(err.message, /\n/);
      }
    }),
  );
  for (const bad of ['status', '$.', '$..a', '$[-1]', '$[01]', '$[x]', '$["a]', '$.a b']) assert.throws(() => parseJsonPath(bad), Error, bad);
});

test('the reasons say what was found and what was expected', () => {
  const body = JSON.stringify({ status: 'DOWN', queue: { depth: 250 }, items: [{ ok: true }], 'odd key': 1 });
  const one = (a: Record<string, unknown>) => judgeJson(jsonAssertionsValue([a]), body);
  assert.equal(one({ path: '$.status', equals: 'UP' }), '$.status is "DOWN", expected "UP"');
  assert.equal(one({ path: '$.status', equals: 'DOWN' }), undefined);
  assert.equal(one({ path: '$.queue.depth', below: 100 }), '$.queue.depth is 250, expected below 100');
  assert.equal(one({ path: '$.queue.depth', above: 100 }), undefined);
  assert.equal(one({ path: '$.queue', equals: { depth: 250 } }), undefined);
  assert.equal(one({ path: '$.items[0].ok', equals: true }), undefined);
  assert.equal(one({ path: '$.items[1].ok', equals: true }), '$.items[1].ok is missing, expected true');
  assert.equal(one({ path: '$["odd key"]', exists: true }), undefined);
  assert.equal(one({ path: '$.status.constructor', exists: true }), '$.status.constructor is missing');
  assert.equal(one({ path: '$.status', exists: false }), '$.status exists, expected none');
  assert.equal(one({ path: '$.status', below: 3 }), '$.status is "DOWN", expected below 3');
  assert.equal(judgeJson(jsonAssertionsValue([{ path: '$', exists: true }]), '<html>'), 'body is not JSON');
});

test('a bad json value names the assertion', () => {
  assert.throws(() => jsonAssertionsValue([]), /expected 1 to 50 assertions/);
  assert.throws(() => jsonAssertionsValue([{ path: '$.a', below: '3' }]), /\[0\]: "below" takes a number, not "3"/);
  assert.throws(() => jsonAssertionsValue([{ path: '$.a', equals: 1 }, { path: '$.b', equals: 1, below: 2 }]), /\[1\]: give exactly one of equals, below, above, exists/);
  assert.throws(() => jsonAssertionsValue([{ path: '$.a', matches: 'x' }]), /unknown key "matches"/);
  assert.throws(() => jsonAssertionsValue([{ path: 'status', equals: 1 }]), /\[0\]: a path starts with \$/);
});
