/**
 * The one recipient parser and the allowlist on top of it: exactly one bare
 * mailbox, every trick refused with a reason, domains matched exactly and
 * without case. Properties: no throw, and no accepted relay, judged by what
 * nodemailer itself reads from the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseDomain, parseRecipient } from '../../shared/address.ts';
import { Allowlist } from '../../mailer/intake/allowlist.ts';
import { ALLOW, goodRecipient, hostileRecipient, nodemailerAddresses, onlyAllowed } from '../support/relay-arbitraries.ts';

test('a bare address is one mailbox, its domain lower-cased for comparison', () => {
  const parsed = parseRecipient('Admin.Ops+x@Mail.Work');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, { address: 'Admin.Ops+x@Mail.Work', local: 'Admin.Ops+x', domain: 'mail.work' });
});

for (const [name, text, reason] of [
  ['a list', 'victim@evil.example,a@work', /list of 2/],
  ['a list with a space', 'victim@evil.example, a@work', /space/],
  ['a group', 'g:a@work;', /group/],
  ['a display name', 'Bob<a@work>', /display name|angle/],
  ['an address as display name', '"a@work"<victim@evil.example>', /display name|angle/],
  ['angle brackets only', '<a@work>', /not a bare address/],
  ['a comment', 'a@work(victim@evil.example)', /display name|comment/],
  ['a bare local part', 'admin', /no "@domain"|display name/],
  ['a quoted local part with @', '"victim@evil.example"@work', /"@"|dot-atom|display name|bare/],
  ['two @', 'victim@evil.example@work', /more than one "@"/],
  ['the percent hack', 'victim%evil.example@work', /"%" or "!"/],
  ['a bang path', 'evil.example!victim@work', /"%" or "!"/],
  ['an IP literal', 'a@[1.2.3.4]', /IP-address literal/],
  ['an empty local part', '@work', /nothing before/],
  ['an empty domain', 'a@', /no domain/],
  ['a trailing dot', 'a@work.', /host-name labels/],
  ['a double dot', 'a..b@work', /dot-atom/],
  ['a line break', 'a@work\r\nBcc: v@evil', /control character/],
  ['non-ASCII', 'ä@work', /non-ASCII/],
  ['an encoded word as domain', '=?utf-8?q?a@work?=', /host-name labels/],
  ['empty', '', /empty/],
  ['too long', `${'a'.repeat(250)}@work`, /longer than 254/],
] as const) {
  test(`a recipient that is not one bare mailbox is refused with a reason: ${name}`, () => {
    const parsed = parseRecipient(text);
    assert.equal(parsed.ok, false, `${JSON.stringify(text)} was accepted`);
    if (!parsed.ok) assert.match(parsed.error, reason);
  });
}

test('*@work matches the domain exactly and without case, not a sub- or super-domain', () => {
  const allow = new Allowlist(['admin@work', '*@work']);
  for (const yes of ['admin@work', 'ADMIN@WORK', 'anyone@work', 'x@Work']) assert.ok(allow.check(yes).ok, yes);
  for (const no of ['x@evil.work', 'a@work.evil', 'a@xwork', 'victim@evil.example', 'a@work,victim@evil.example']) {
    assert.equal(allow.check(no).ok, false, no);
  }
  assert.equal(allow.defaultRecipient, 'admin@work');
});

test('an exact entry allows only that address', () => {
  const allow = new Allowlist(['admin@work']);
  assert.ok(allow.check('Admin@WORK').ok);
  assert.deepEqual(allow.check('ops@work'), { ok: false, error: 'is not on the allowlist (--to)' });
});

test('parseDomain refuses what is not host-name labels', () => {
  for (const bad of ['', '-a', 'a-', 'a..b', 'a_b', '[1.2.3.4]', 'a b', `${'a'.repeat(64)}.x`]) assert.equal(parseDomain(bad).ok, false, bad);
  assert.deepEqual(parseDomain('Mail.Work'), { ok: true, value: 'mail.work' });
});

test('property: parseRecipient never throws, and what it accepts nodemailer reads as that one address', () => {
  fc.assert(
    fc.property(hostileRecipient, (text) => {
      const parsed = parseRecipient(text);
      if (parsed.ok) assert.deepEqual(nodemailerAddresses(text), [text]);
    }),
    { numRuns: 3000 },
  );
});

test('property: no accepted relay — whatever the allowlist accepts is exactly one address in the domain work', () => {
  const allow = new Allowlist([...ALLOW]);
  fc.assert(
    fc.property(hostileRecipient, (text) => {
      if (allow.check(text).ok) assert.ok(onlyAllowed(text), `relay accepted: ${JSON.stringify(text)} → ${JSON.stringify(nodemailerAddresses(text))}`);
    }),
    { numRuns: 3000 },
  );
});

test('property: good addresses are accepted, and allowed exactly when their domain is work', () => {
  const allow = new Allowlist([...ALLOW]);
  fc.assert(
    fc.property(goodRecipient, (text) => {
      const parsed = parseRecipient(text);
      assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.error}`);
      assert.equal(allow.check(text).ok, parsed.value.domain === 'work');
    }),
    { numRuns: 1000 },
  );
});
