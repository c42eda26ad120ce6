import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../../shared/alert.ts';
import fc from 'fast-check';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import { BATCH_MAX_ALERTS, encodeAlertBatch, parseAlertBatch, readBatchAnswer } from '../../shared/wire-batch.ts';
import { encodeAlertJson, parseAlertJson, validateAlertRequest } from '../../shared/wire-json.ts';
import { ALLOW, goodRecipient, hostileRecipient, onlyAllowed } from '../support/relay-arbitraries.ts';

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

for (const [name, to] of [
  ['a list', 'victim@evil.example,a@work'],
  ['a display name', '"a@work" <victim@evil.example>'],
  ['a group', 'g: victim@evil.example;'],
  ['a comment', 'a@work(x)'],
  ['a bare local part', 'admin'],
] as const) {
  test(`a JSON "to" that is not one mailbox is refused with the reason: ${name}`, () => {
    const parsed = parseAlertJson(JSON.stringify({ message: 'm', to }));
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, /field "to" must be one e-mail address, not .*: the recipient /);
  });
}

const text = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }).filter((s) => s.trim().length > 0);
const alert: fc.Arbitrary<Alert> = fc
  .record(
    {
      id: fc.stringMatching(/^[A-Za-z0-9._:@-]{1,128}$/),
      to: goodRecipient,
      message: text(300),
      status: fc.constantFrom('down' as const, 'up' as const),
      target: text(100),
      reason: text(100),
      time: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
      downForMs: fc.nat(),
      reminder: fc.integer({ min: 1, max: 1000 }),
    },
    { requiredKeys: ['id', 'to', 'message', 'status'] },
  )
  .map(({ reminder, ...rest }) => ({ ...rest, ...(reminder !== undefined && rest.status === 'down' ? { reminder } : {}) }));

test('property: encodeAlertJson then parseAlertJson gives back the alert', () => {
  fc.assert(
    fc.property(alert, (a) => {
      const parsed = parseAlertJson(encodeAlertJson(a));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.deepEqual(parsed.value, a);
    }),
    { numRuns: 1000 },
  );
});

test('property: parseAlertJson never throws, on any text or any JSON value', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (body) => void parseAlertJson(body)), { numRuns: 2000 });
  fc.assert(fc.property(fc.jsonValue(), (value) => void parseAlertJson(JSON.stringify(value) ?? '')), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom('message', 'to', 'status', 'id', 'time', 'downForMs', 'reminder', 'x'), fc.jsonValue()), (value) =>
      void parseAlertJson(JSON.stringify(value)),
    ),
    { numRuns: 2000 },
  );
});

test('property: no accepted relay — a JSON alert is accepted and allowed only for one address in the domain work', () => {
  const allow = new Allowlist([...ALLOW]);
  fc.assert(
    fc.property(hostileRecipient, (to) => {
      const parsed = parseAlertJson(JSON.stringify({ message: 'm', to }));
      if (!parsed.ok || parsed.value.to === undefined || !allow.check(parsed.value.to).ok) return;
      assert.ok(onlyAllowed(parsed.value.to), `relay accepted: ${JSON.stringify(to)}`);
    }),
    { numRuns: 3000 },
  );
});

test('property: a batch of alerts encodes and parses back, each in its place', () => {
  fc.assert(
    fc.property(fc.array(alert, { minLength: 1, maxLength: 20 }), (alerts) => {
      const parsed = parseAlertBatch(encodeAlertBatch(alerts));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.deepEqual(
        parsed.items.map((i) => (i.ok ? i.value : i.error)),
        alerts,
      );
    }),
    { numRuns: 300 },
  );
});

test('property: parseAlertBatch never throws, and judges each item as a single POST /alerts would', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (body) => void parseAlertBatch(body)), { numRuns: 2000 });
  const item = fc.oneof(alert.map((a) => a as unknown), fc.jsonValue(), fc.dictionary(fc.constantFrom('message', 'to', 'status', 'id', 'reminder', 'x'), fc.jsonValue()));
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 10 }), (items) => {
      const parsed = parseAlertBatch(JSON.stringify(items));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.equal(parsed.items.length, items.length);
      parsed.items.forEach((verdict, i) => {
        const single = validateAlertRequest(JSON.parse(JSON.stringify(items[i]) ?? 'null'));
        assert.equal(verdict.ok, single.ok, `item ${i}`);
        if (!verdict.ok && !single.ok) {
          assert.equal(verdict.status, 400);
          assert.equal(verdict.error, single.error);
        }
      });
    }),
    { numRuns: 1000 },
  );
});

for (const [name, body, status, pattern] of [
  ['not JSON', '[{', 400, /not valid JSON/],
  ['one object', '{"message":"m"}', 400, /JSON array of alerts/],
  ['an empty array', '[]', 400, /no alert/],
  ['too many alerts', JSON.stringify(Array.from({ length: BATCH_MAX_ALERTS + 1 }, () => ({ message: 'm' }))), 413, new RegExp(`at most ${BATCH_MAX_ALERTS} alerts, not ${BATCH_MAX_ALERTS + 1}`)],
] as const) {
  test(`a batch is refused as a whole with ${status}: ${name}`, () => {
    const parsed = parseAlertBatch(body);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) {
      assert.equal(parsed.status, status);
      assert.match(parsed.error, pattern);
    }
  });
}

test('a batch item over the largest alert is refused alone, with 413', () => {
  const parsed = parseAlertBatch(JSON.stringify([{ message: 'm' }, { message: 'x'.repeat(300) }]), 256);
  assert.ok(parsed.ok);
  assert.equal(parsed.items[0]!.ok, true);
  assert.deepEqual(parsed.items[1], { ok: false, status: 413, error: 'alert over the 256-byte limit' });
});

test('property: readBatchAnswer never throws, and reads only an answer that lists exactly the items sent, by index', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.nat(5), (value, n) => void readBatchAnswer(JSON.stringify(value) ?? '', n)), { numRuns: 2000 });
  const answer = { accepted: 1, refused: 1, results: [{ index: 0, status: 202, id: 'a' }, { index: 1, status: 503, error: 'cannot write the store; retry later' }] };
  assert.deepEqual(readBatchAnswer(JSON.stringify(answer), 2), answer.results);
  assert.equal(readBatchAnswer(JSON.stringify(answer), 3), undefined);
  assert.equal(readBatchAnswer(JSON.stringify({ results: [answer.results[1], answer.results[0]] }), 2), undefined, 'out of order');
});
