import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { sniffProtocol } from '../../mailer/intake/protocol-sniff.ts';

test('HTTP methods are HTTP', () => {
  assert.equal(sniffProtocol(Buffer.from('POST /alerts HTTP/1.1\r\n')), 'http');
  assert.equal(sniffProtocol(Buffer.from('GET /healthz HTTP/1.1\r\n')), 'http');
});

test("the book's text is raw", () => {
  assert.equal(sniffProtocol(Buffer.from('To: admin@work  Message: The service is down!')), 'raw');
  assert.equal(sniffProtocol(Buffer.from([0xff, 0x00])), 'raw');
});

test('a prefix of a method waits for more bytes', () => {
  assert.equal(sniffProtocol(Buffer.from('PO')), 'more');
  assert.equal(sniffProtocol(Buffer.from('GET')), 'more');
  assert.equal(sniffProtocol(Buffer.from('POSTER')), 'raw');
});

const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH'];
const head = fc.oneof(
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.constantFrom(...METHODS, 'To:', 'POS', 'G'), fc.constantFrom('', ' ', '/', 'x', ' /alerts'))
    .map(([m, rest]) => Buffer.from(`${m}${rest}`, 'latin1')),
);

test('property: the sniffer never throws, says http exactly for a method and a space, and more bytes never change a decision', () => {
  fc.assert(
    fc.property(head, fc.uint8Array({ maxLength: 8 }), (first, more) => {
      const kind = sniffProtocol(first);
      const isHttp = METHODS.some((m) => first.subarray(0, m.length + 1).toString('latin1') === `${m} `);
      assert.equal(kind === 'http', isHttp);
      if (kind !== 'more') assert.equal(sniffProtocol(Buffer.concat([first, Buffer.from(more)])), kind);
      if (kind === 'more') assert.ok(first.length < 8, 'asks for more only while a method could still be arriving');
    }),
    { numRuns: 5000 },
  );
});
