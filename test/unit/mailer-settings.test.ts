/**
 * The agent's mailer settings: the --mailer list (agent/mailer-address.ts,
 * property-based: one address is a list of one; any text is a list or a
 * one-line refusal), https:// (TLS, JSON only), and which plain mailers a
 * token would reach in clear beyond this host (agent/mailer-settings.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_MAILERS, parseMailerAddress, parseMailerList } from '../../agent/mailer-address.ts';
import { beyondThisHost, clearTokenMailers } from '../../agent/mailer-settings.ts';

test('--mailer: a list of addresses, each as one address parses; any text is a list or a one-line refusal', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      try {
        const list = parseMailerList(text);
        assert.ok(list.length >= 1 && list.length <= MAX_MAILERS);
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.doesNotMatch(err.message, /[\r\n]/);
      }
    }),
  );
  fc.assert(
    fc.property(fc.uniqueArray(fc.domain(), { minLength: 1, maxLength: MAX_MAILERS }), fc.constantFrom('', 'tcp://', 'http://', 'https://'), (hosts, scheme) => {
      const text = hosts.map((h, i) => `${scheme}${h}:${1000 + i}`).join(', ');
      assert.deepEqual(parseMailerList(text), hosts.map((h, i) => parseMailerAddress(`${scheme}${h}:${1000 + i}`)));
    }),
  );
  assert.deepEqual(parseMailerList('https://m'), [{ host: 'm', port: 33333, http: true, tls: true }]);
  assert.deepEqual(parseMailerList('m1,http://m2:9'), [{ host: 'm1', port: 33333 }, { host: 'm2', port: 9, http: true }]);
  assert.throws(() => parseMailerList(Array.from({ length: MAX_MAILERS + 1 }, (_, i) => `m${i}`).join(',')), /At most 16 mailers/);
  assert.throws(() => parseMailerList('m,M:33333'), /The mailer M:33333 is listed twice/);
});

test('a token in clear beyond this host: dotted names and public addresses; not loopback, private addresses, localhost or one-label names', () => {
  for (const far of ['mailer.example.com', 'mailer.ch2.svc.cluster.local', '8.8.8.8', '2001:db8::1', '::ffff:8.8.4.4']) assert.equal(beyondThisHost(far), true, far);
  for (const near of ['127.0.0.1', '::1', '10.1.2.3', '172.17.0.3', '192.168.1.9', 'fd00::2', 'fe80::1', 'localhost', 'app.localhost', 'insidemailer', 'mailer.', '::ffff:10.0.0.1']) assert.equal(beyondThisHost(near), false, near);
  const mailers = parseMailerList('mailer.example.com,https://tls.example.com,insidemailer');
  assert.deepEqual(clearTokenMailers({ mailers, mailerProtocol: 'json', mailerToken: 'x'.repeat(16) }), [mailers[0]]);
  assert.deepEqual(clearTokenMailers({ mailers, mailerProtocol: 'json' }), [], 'no token, nothing to warn of');
});
