/**
 * Where the store is (mailer/store/store-url.ts): a postgres:// URL parsed
 * and checked, its password never in the label nor in any refusal, and which
 * of --store, STORE_URL and STORE_DIR names the store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePostgresUrl, resolveStoreLocation } from '../../mailer/store/store-url.ts';

// Marked, so that a password cannot stand in a message by chance (a password "name" is in "database name").
const password = fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme-ascii' }).map((p) => `Zq9~${p}`);

test('store-url: any password round-trips to the driver and never reaches the label', () => {
  fc.assert(
    fc.property(password, fc.constantFrom('postgres', 'postgresql'), (pw, scheme) => {
      const where = parsePostgresUrl(`${scheme}://ch2:${encodeURIComponent(pw)}@db.example:5432/ch2`);
      assert.equal(where.password, pw);
      assert.equal(where.label, `${scheme}://ch2@db.example:5432/ch2`);
      assert.ok(!where.label.includes(encodeURIComponent(pw)));
    }),
  );
});

test('store-url: a bad URL is refused with a line that names the fault and never the password', () => {
  const faults: Array<[(pw: string) => string, RegExp]> = [
    [(pw) => `postgres://ch2:${pw}@db:5432/`, /one database name/],
    [(pw) => `postgres://ch2:${pw}@db:5432/a/b`, /one database name/],
    [(pw) => `postgres://:${pw}@db:5432/ch2`, /user name/],
    [(pw) => `postgres://ch2:${pw}@db:5432/ch2?sslmode=maybe`, /sslmode must be one of/],
    [(pw) => `postgres://ch2:${pw}@db:5432/ch2?host=/tmp`, /unknown parameter host/],
    [(pw) => `postgres://ch2:${pw}@db:99999/ch2`, /expected a URL/],
    [(pw) => `mysql://ch2:${pw}@db:3306/ch2`, /postgres:\/\/ or postgresql:\/\//],
    [(pw) => `postgres://ch2:${pw}@db:5432/ch2#x`, /no #fragment/],
  ];
  fc.assert(
    fc.property(password.map(encodeURIComponent), fc.constantFrom(...faults), (pw, [make, reason]) => {
      assert.throws(() => parsePostgresUrl(make(pw)), (e: Error) => reason.test(e.message) && !e.message.includes(pw) && !e.message.includes(decodeURIComponent(pw)));
    }),
  );
});

test('store-url: --store beats both env vars; else STORE_URL or STORE_DIR, never both; each holds what its name says', () => {
  const url = 'postgres://ch2:pw@db:5432/ch2';
  const resolve = (flag: string | undefined, dirEnv: string | undefined, urlEnv: string | undefined) => resolveStoreLocation({ flag, dirEnv, urlEnv, fallback: '/var/lib/ch2-mailer' });
  assert.deepEqual(resolve(undefined, undefined, undefined), { kind: 'folder', dir: '/var/lib/ch2-mailer' });
  assert.equal(resolve(url, undefined, undefined).kind, 'postgres');
  assert.deepEqual(resolve('/data', undefined, url), { kind: 'folder', dir: '/data' }, '--store over STORE_URL');
  assert.equal(resolve(undefined, undefined, url).kind, 'postgres');
  // commander gives STORE_DIR's text to --store when the flag is absent.
  assert.deepEqual(resolve('/data', '/data', undefined), { kind: 'folder', dir: '/data' });
  assert.throws(() => resolve('/data', '/data', url), /STORE_URL and STORE_DIR are both set/);
  assert.throws(() => resolve(url, url, undefined), /STORE_DIR: expected a folder; a postgres:\/\/ URL goes in STORE_URL/);
  assert.throws(() => resolve(undefined, undefined, '/data'), /STORE_URL: expected a postgres:\/\/ URL/);
  assert.equal(resolve(undefined, '', url).kind, 'postgres', 'an empty STORE_DIR is unset');
});
