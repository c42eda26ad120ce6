import assert from 'node:assert/strict';
import { test } from 'node:test';
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
