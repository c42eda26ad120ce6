/** shared/net-errors.ts: one short, one-line reason for every network failure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CONNECT_TIMEOUT_CODE, describeFailure } from '../../shared/net-errors.ts';

const T = { timeoutMs: 2000, connectTimeoutMs: 250 };

test('codes from node:net, node:http and undici get the same words', () => {
  const cases: [unknown, string][] = [
    [{ code: 'ECONNREFUSED' }, 'connection refused'],
    [{ cause: { code: 'ECONNREFUSED' } }, 'connection refused'],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, 'connection closed by the server'],
    [{ code: 'ECONNRESET', message: 'read ECONNRESET' }, 'connection reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'connection closed by the server'],
    [{ code: 'ENOTFOUND' }, 'host not found'],
    [{ code: 'EHOSTUNREACH' }, 'host unreachable'],
    [{ code: 'ENETUNREACH' }, 'network unreachable'],
    [{ code: CONNECT_TIMEOUT_CODE }, 'connect timeout after 250ms'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'connect timeout after 250ms'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout after 2000ms'],
    [{ name: 'TimeoutError' }, 'timeout after 2000ms'],
    [{ name: 'AbortError' }, 'timeout after 2000ms'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" }, "TLS error: Hostname/IP does not match certificate's altnames"],
  ];
  for (const [err, reason] of cases) assert.equal(describeFailure(err, T), reason, JSON.stringify(err));
});

test('a reason is always one line, even from an OpenSSL message with line breaks', () => {
  assert.equal(describeFailure({ code: 'ERR_SSL_X', message: 'error:0A000086:SSL routines::certificate verify failed\n  at foo\r\n' }, T), 'TLS error: error:0A000086:SSL routines::certificate verify failed at foo');
  fc.assert(fc.property(fc.anything(), fc.string({ unit: 'binary' }), (code, message) => {
    const reason = describeFailure({ code, message }, T);
    assert.equal(typeof reason, 'string');
    assert.doesNotMatch(reason, /[\r\n]/);
    assert.ok(reason.length > 0);
  }));
  assert.equal(describeFailure(undefined, T), 'undefined');
});
