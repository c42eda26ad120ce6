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
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" }, 'TLS error: certificate is for another host name'],
  ];
  for (const [err, reason] of cases) assert.equal(describeFailure(err, T), reason, JSON.stringify(err));
});

test('TLS failures read as one plain line, not OpenSSL text', () => {
  const now = Date.UTC(2026, 11, 7, 12);
  const openssl = (reason: string) => `write EPROTO 40FD0BF3897F0000:error:0A00010B:SSL routines:tls_validate_record_header:${reason}:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:77:\n`;
  type Extra = { certValidTo?: number; certValidFrom?: number; now?: number };
  const cases: ([unknown, string] | [unknown, string, Extra])[] = [
    [{ code: 'EPROTO', message: openssl('wrong version number') }, 'TLS error: the server speaks plain HTTP on this port'],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: openssl('wrong version number').slice(13) }, 'TLS error: the server speaks plain HTTP on this port'],
    [{ code: 'EPROTO', message: openssl('some new reason') }, 'TLS error: some new reason'],
    [{ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, 'TLS error: certificate expired'],
    [{ code: 'CERT_HAS_EXPIRED' }, 'TLS error: certificate expired 3 days ago', { certValidTo: now - 3 * 86_400_000 - 5, now }],
    [{ code: 'CERT_HAS_EXPIRED' }, 'TLS error: certificate expired 1 day ago', { certValidTo: now - 86_400_000, now }],
    [{ code: 'CERT_HAS_EXPIRED' }, 'TLS error: certificate expired less than a day ago', { certValidTo: now - 1000, now }],
    [{ code: 'CERT_NOT_YET_VALID' }, 'TLS error: certificate not valid for 2 days yet', { certValidFrom: now + 2 * 86_400_000 + 9, now }],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate; if the root CA is installed locally, try running Node.js with --use-system-ca' }, 'TLS error: self-signed certificate (trust it with --ca-file, or set insecure: true)'],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'TLS error: certificate signed by an unknown CA (trust it with --ca-file)'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', reason: "Host: shop. is not in the cert's altnames: DNS:www" }, 'TLS error: certificate is for another host name (shop is not in DNS:www)'],
    [{ code: 'ERR_TLS_X', message: 'odd; if the root CA is installed locally, try running Node.js with --use-system-ca' }, 'TLS error: odd'],
  ];
  for (const [err, reason, extra] of cases) assert.equal(describeFailure(err, { ...T, ...extra }), reason, JSON.stringify(err));
});

test('a reason is always one line, even from an OpenSSL message with line breaks', () => {
  assert.equal(describeFailure({ code: 'ERR_SSL_X', message: 'error:0A000086:certificate verify failed\n  at foo\r\n' }, T), 'TLS error: error:0A000086:certificate verify failed at foo');
  fc.assert(fc.property(fc.anything(), fc.string({ unit: 'binary' }), (code, message) => {
    const reason = describeFailure({ code, message }, T);
    assert.equal(typeof reason, 'string');
    assert.doesNotMatch(reason, /[\r\n]/);
    assert.ok(reason.length > 0);
  }));
  assert.equal(describeFailure(undefined, T), 'undefined');
});
