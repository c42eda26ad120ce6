/**
 * The Host check against DNS rebinding (mailer/http/host-check.ts): loopback
 * names, IP addresses, one-label names (container names, --link aliases),
 * this host's name and --public-url's host pass, whatever the port; any
 * other dotted name, and what is no host name at all, is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostCheck, misdirected } from '../../mailer/http/host-check.ts';

test('loopback names, addresses, one-label names and the own host name pass; other dotted names do not', () => {
  const hosts = new HostCheck(undefined, 'box.corp.example');
  for (const ok of ['localhost', 'LOCALHOST:33333', 'app.localhost:8080', 'localhost.', '127.0.0.1:33333', '10.1.2.3', '[::1]:33333', '[fd00::2]', 'insidemailer:33333', 'mailer', 'box.corp.example:33333', undefined]) {
    assert.equal(hosts.allows(ok), true, String(ok));
  }
  for (const bad of ['evil.example', 'evil.example:33333', 'localhost.evil.example', '127.0.0.1.nip.io', 'status.example.com', 'a b', '', 'evil.example:99999x', '[zz::1]']) {
    assert.equal(hosts.allows(bad), false, bad);
  }
});

test('--public-url adds its host (any port, any case)', () => {
  const hosts = new HostCheck(new URL('https://Status.Example.com:8443/ch2/'), 'box');
  assert.equal(hosts.allows('status.example.com'), true);
  assert.equal(hosts.allows('STATUS.example.com:443'), true);
  assert.equal(hosts.allows('other.example.com'), false);
  assert.equal(new HostCheck(new URL('http://[2001:db8::5]/'), 'box').allows('[2001:db8::5]:80'), true);
});

test('the refusal names the way out and shows the Host it refused, made printable', () => {
  const { error } = misdirected('evil.example\u0000:1');
  assert.match(error, /"evil\.example\?:1".*DNS rebinding.*--public-url \(PUBLIC_URL\)/);
});
