import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../../shared/alert.ts';
import { encodeAlertJson, parseAlertJson } from '../../shared/wire-json.ts';

test('a full alert round-trips through encode and parse', () => {
  const alert: Alert = {
    id: 'abc-1',
    to: 'admin@work',
    message: 'The service is down!',
    status: 'down',
    target: 'http://insideweb:80/',
    reason: 'connection refused',
    time: '2026-11-29T12:00:00.000Z',
  };
  const parsed = parseAlertJson(encodeAlertJson(alert));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, alert);
});

test('a reminder round-trips with its number and how long the outage has lasted', () => {
  const alert: Alert = {
    id: 'abc-2',
    to: 'admin@work',
    message: 'The service is down! Still down after 5.0s (reminder 1 of 10).',
    status: 'down',
    target: 'http://insideweb:80/',
    reason: 'connection refused',
    time: '2026-11-29T12:00:05.000Z',
    downForMs: 5000,
    reminder: 1,
  };
  const parsed = parseAlertJson(encodeAlertJson(alert));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, alert);
});

test('only message is required', () => {
  const parsed = parseAlertJson('{"message":"hi"}');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.message, 'hi');
});

for (const [name, body, pattern] of [
  ['not JSON', '{bad', /not valid JSON/],
  ['an array', '[1]', /JSON object/],
  ['null', 'null', /JSON object/],
  ['no message', '{"to":"admin@work"}', /"message" is required/],
  ['blank message', '{"message":"   "}', /"message" is required/],
  ['message not a string', '{"message":5}', /"message" must be a string/],
  ['bad status', '{"message":"m","status":"sideways"}', /"status"/],
  ['two recipients', '{"message":"m","to":"a@b, c@d"}', /"to"/],
  ['header injection in to', '{"message":"m","to":"a@b\\r\\nBcc: c@d"}', /"to"/],
  ['unknown field', '{"message":"m","cc":"x@y"}', /unknown field "cc"/],
  ['bad id', '{"message":"m","id":"a b"}', /"id"/],
  ['bad time', '{"message":"m","time":"yesterday"}', /"time"/],
  ['negative downForMs', '{"message":"m","downForMs":-1}', /downForMs/],
  ['reminder zero', '{"message":"m","reminder":0}', /"reminder"/],
  ['reminder not whole', '{"message":"m","reminder":1.5}', /"reminder"/],
  ['reminder as text', '{"message":"m","reminder":"1"}', /"reminder"/],
  ['reminder on an up alert', '{"message":"m","status":"up","reminder":1}', /"reminder" goes only with status "down"/],
] as const) {
  test(`bad JSON alert is refused with a reason: ${name}`, () => {
    const parsed = parseAlertJson(body);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, pattern);
  });
}
