import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import { encodeRaw, parseRaw, RAW_MAX_BYTES } from '../../shared/wire-raw.ts';
import { ALLOW, goodRecipient, hostileRecipient, onlyAllowed } from '../support/relay-arbitraries.ts';

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

test('the size cap is the one given (--max-bytes), not a fixed 64 KiB', () => {
  const big = Buffer.from(`To: admin@work  Message: ${'x'.repeat(70_000)}`);
  assert.equal(parseRaw(big).ok, false);
  assert.ok(parseRaw(big, 1024 * 1024).ok);
  assert.equal(parseRaw(Buffer.from(BOOK), 10).ok, false);
});

for (const [name, text] of [
  ['a list', 'To: victim@evil.example,a@work  Message: m'],
  ['a display name', 'To: "a@work" <victim@evil.example>  Message: m'],
  ['a bare local part', 'To: admin  Message: m'],
  ['a quoted local part', 'To: "victim@evil.example"@work  Message: m'],
] as const) {
  test(`a raw recipient that is not one mailbox is refused with the reason: ${name}`, () => {
    const parsed = parseRaw(Buffer.from(text));
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.error, /recipient .* refused: /);
  });
}

/** A message as the agent sends it: well-formed text without NUL, not blank. */
const message = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 200 })
  .filter((m) => m.trim().length > 0 && !m.includes('\u0000') && !m.includes('\uFFFD'));

test('property: encodeRaw then parseRaw gives back the recipient and the trimmed message', () => {
  fc.assert(
    fc.property(goodRecipient, message, (to, text) => {
      const parsed = parseRaw(encodeRaw(to, text));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.equal(parsed.value.to, to);
      assert.equal(parsed.value.message, text.trim());
    }),
    { numRuns: 2000 },
  );
});

test('property: parseRaw never throws on any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      parseRaw(Buffer.from(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('property: no accepted relay — a raw message is accepted and allowed only for one address in the domain work', () => {
  const allow = new Allowlist([...ALLOW]);
  fc.assert(
    fc.property(hostileRecipient, fc.constantFrom(' ', '  ', '\t', ' \t'), message, (to, gap, text) => {
      const parsed = parseRaw(Buffer.from(`To: ${to}${gap}Message: ${text}`));
      if (!parsed.ok || !allow.check(parsed.value.to).ok) return;
      assert.ok(onlyAllowed(parsed.value.to), `relay accepted: ${JSON.stringify(parsed.value.to)}`);
    }),
    { numRuns: 3000 },
  );
});
