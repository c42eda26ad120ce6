import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRaw, oneLine, parseRaw, RAW_MAX_BYTES } from '../../shared/wire-raw.ts';

const BOOK = 'To: admin@work  Message: The service is down!';

test("the book's agent's exact bytes parse, spacing kept in the text", () => {
  const parsed = parseRaw(Buffer.from(BOOK));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, { to: 'admin@work', message: 'The service is down!', text: BOOK });
});

test('encodeRaw writes what the book\'s agent writes', () => {
  assert.equal(encodeRaw('admin@work', 'The service is down!').toString(), BOOK);
});

test('round trip through encode and parse', () => {
  const parsed = parseRaw(encodeRaw('ops@example.com', 'Disk full: 98%'));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.to, 'ops@example.com');
  assert.equal(parsed.value.message, 'Disk full: 98%');
});

test('trailing newlines are dropped, as $(nc -l) does', () => {
  const parsed = parseRaw(Buffer.from(`${BOOK}\r\n\n`));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.text, BOOK);
});

test('single space between the parts is accepted', () => {
  const parsed = parseRaw(Buffer.from('To: admin@work Message: hi'));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.message, 'hi');
});

for (const [name, bytes, pattern] of [
  ['empty', Buffer.alloc(0), /empty/],
  ['garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01]), /UTF-8/],
  ['no To:', Buffer.from('hello there'), /book's form/],
  ['no message text', Buffer.from('To: admin@work  Message:   '), /empty|form/],
  ['too large', Buffer.alloc(RAW_MAX_BYTES + 1, 0x41), /limit/],
] as const) {
  test(`bad raw input is refused with a reason: ${name}`, () => {
    const parsed = parseRaw(bytes);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, pattern);
  });
}

test('encodeRaw refuses a recipient with a line break', () => {
  assert.throws(() => encodeRaw('a@b\r\nBcc: x@y', 'm'), /line break/);
});

test('oneLine escapes control characters so a log line cannot be forged', () => {
  assert.equal(oneLine('a\nb\rc\u0007'), 'a\\nb\\rc\\x07');
});
