import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExpectStatus } from '../../agent/expect-status.ts';

test('the default takes 2xx and 3xx (a redirect is not an outage)', () => {
  const up = parseExpectStatus('2xx,3xx');
  assert.ok(up(200) && up(204) && up(301) && up(302));
  assert.ok(!up(404) && !up(500) && !up(503) && !up(101));
});

test('single codes and ranges', () => {
  const up = parseExpectStatus('200, 401-403');
  assert.ok(up(200) && up(401) && up(403));
  assert.ok(!up(201) && !up(404));
});

for (const bad of ['', 'ok', '2x', '600', '300-200', '99']) {
  test(`a bad spec is refused: ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseExpectStatus(bad));
  });
}
