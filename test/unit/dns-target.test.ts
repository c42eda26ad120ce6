/** agent/dns-target.ts: the dns:// URL, checked at start (fast-check for the parser). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DNS_TYPES, parseDnsTarget } from '../../agent/dns-target.ts';
import { targetUrlProblem } from '../../agent/target.ts';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

test('any name, type, server and expect list comes back as given', () => {
  fc.assert(
    fc.property(host, fc.constantFrom(...DNS_TYPES), fc.option(fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 }))), fc.option(fc.array(fc.stringMatching(/^[a-z0-9.=:-]{1,20}$/), { minLength: 1, maxLength: 3 })), (name, type, server, expect) => {
      const params = new URLSearchParams({ type: type.toLowerCase() });
      if (server) params.set('server', `${server[0]}:${server[1]}`);
      if (expect) params.set('expect', expect.join(','));
      const url = new URL(`dns://${name}?${params}`);
      assert.equal(targetUrlProblem(url), undefined);
      const q = parseDnsTarget(url);
      assert.deepEqual(q, { name, type, ...(server ? { server: `${server[0]}:${server[1]}` } : {}), ...(expect ? { expect } : {}) });
    }),
  );
});

test('the defaults: type A, the system resolvers, port 53; IPv6 servers in brackets', () => {
  assert.deepEqual(parseDnsTarget(new URL('dns://example.com')), { name: 'example.com', type: 'A' });
  assert.deepEqual(parseDnsTarget(new URL('dns://example.com?server=10.0.0.2')), { name: 'example.com', type: 'A', server: '10.0.0.2:53' });
  assert.deepEqual(parseDnsTarget(new URL('dns://example.com?server=[::1]:5353')), { name: 'example.com', type: 'A', server: '[::1]:5353' });
});

test('a bad dns:// target is one clear reason', () => {
  const cases: [string, RegExp][] = [
    ['dns://example.com?type=SRV', /type=SRV is not one of A, AAAA, CNAME, MX, TXT/],
    ['dns://example.com?server=dns.google', /server=dns\.google is not an IP address/],
    ['dns://example.com?server=10.0.0.2:99999', /is not an IP address/],
    ['dns://example.com?expect=', /expect= is empty/],
    ['dns://example.com?tpye=A', /unknown dns:\/\/ parameter "tpye"/],
    ['dns://example.com?type=A&type=MX', /parameter type is given twice/],
    ['dns://example.com:53', /nothing else \(the server goes in server=\)/],
    ['dns://example.com/path', /nothing else/],
    ['dns://exa_mple..com', /names a host/],
  ];
  for (const [text, reason] of cases) assert.match(targetUrlProblem(new URL(text)) ?? '', reason, text);
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (junk) => {
    let url: URL;
    try {
      url = new URL(`dns://a.b?${junk}`);
    } catch {
      return;
    }
    const problem = targetUrlProblem(url);
    if (problem !== undefined) assert.doesNotMatch(problem, /\n/);
  }));
});
