/**
 * config-entry.ts, the readers every kind's `--config` entry goes through:
 * an unknown key refused by name (as channel-setup.ts words it), absent
 * meaning undefined or null, a mistyped value refused naming the key and
 * never the value, lists as arrays or comma-separated text, base URLs and
 * the `api` key checked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../../shared/config.ts';
import { configEntry } from '../../../mailer/delivery/channels/config-entry.ts';

const KEYS = ['server', 'token', 'priority', 'tags', 'cache', 'api'];
const read = (entry: Record<string, unknown>) => configEntry(entry, { kind: 'demo', keys: KEYS, numbers: ['priority'] });
const refused = (fn: () => unknown, message: RegExp, secret?: string) =>
  assert.throws(fn, (err: Error) => err instanceof ConfigError && message.test(err.message) && (secret === undefined || !err.message.includes(secret)));

test('a key outside the kind\'s keys is refused by name, on one line, with every known key', () => {
  refused(() => read({ server: 'x', sever: 'y' }), /^sever: unknown key for kind demo; known: name, kind, match, group, server, token, priority, tags, cache, api\.$/);
  refused(() => read({ 'bad\nkey': 1 }), /^bad key: unknown key /);
  assert.doesNotThrow(() => read({ server: 'x', token: 't', priority: 3, tags: [], cache: true, api: 'http://h' }));
});

test('text: absent (undefined or null) is undefined; numbers only for the keys that take them; otherwise the key is named, not the value', () => {
  const e = read({ server: 'https://h', token: null, priority: 5, tags: 7, cache: 'hunter22-secret' });
  assert.equal(e.text('server'), 'https://h');
  assert.equal(e.text('token'), undefined);
  assert.equal(e.text('priority'), '5');
  refused(() => e.text('tags'), /^tags: expected a string\.$/);
  refused(() => e.requiredText('token', 'required: the token'), /^token: required: the token\.$/);
  refused(() => e.requiredText('tags', 'required', 'expected a list'), /^tags: expected a list\.$/);
  refused(() => e.flag('cache', true), /^cache: expected true or false\.$/, 'hunter22');
});

test('flag: true or false, the fallback when absent', () => {
  assert.equal(read({}).flag('cache', true), true);
  assert.equal(read({ cache: null }).flag('cache', false), false);
  assert.equal(read({ cache: false }).flag('cache', true), false);
  refused(() => read({ cache: 'no' }).flag('cache', true), /^cache: expected true or false\.$/);
});

test('list: an array of strings or comma-separated text; anything else refused with the kind\'s problem', () => {
  fc.assert(
    fc.property(fc.array(fc.string().filter((s) => !s.includes(','))), (items) => {
      assert.deepEqual(read({ tags: items }).list('tags', 'p'), items);
      if (items.length > 0) assert.deepEqual(read({ tags: items.join(',') }).list('tags', 'p'), items);
    }),
  );
  assert.equal(read({}).list('tags', 'p'), undefined);
  refused(() => read({ tags: ['a', 1] }).list('tags', 'expected a list of strings'), /^tags: expected a list of strings\.$/);
  refused(() => read({}).requiredList('tags', 'expected a list of rooms'), /^tags: expected a list of rooms\.$/);
});

test('baseUrl: http(s) without user, query or fragment, kept as origin and path; the value is never shown', () => {
  const e = read({});
  assert.equal(e.baseUrl('server', 'https://push.example/sub/'), 'https://push.example/sub/');
  for (const bad of ['nope', 'ftp://h/', 'https://u:hunter22@h/', 'https://h/?token=hunter22', 'https://h/#hunter22']) {
    refused(() => e.baseUrl('server', bad, 'the token goes in the token key'), /^server: expected an http:\/\/ or https:\/\/ URL/, 'hunter22');
  }
  refused(() => e.baseUrl('server', 'https://h/?x=hunter22', 'the token goes in the token key'), /without user, query or fragment \(the token goes in the token key\)\.$/);
});

test('api: the fallback when absent; else checked as the api parameter is, without a trailing slash', () => {
  assert.equal(read({}).api('https://api.example'), 'https://api.example');
  assert.equal(read({ api: 'http://127.0.0.1:9/base/' }).api('https://api.example'), 'http://127.0.0.1:9/base');
  refused(() => read({ api: 5 }).api('https://x'), /^api: expected an http:\/\/ or https:\/\/ URL as a string\.$/);
  for (const bad of ['nope', 'ftp://h', 'https://h/?q=1']) refused(() => read({ api: bad }).api('https://x'), /^api: expected an http:\/\/ or https:\/\/ URL with no query or fragment\.$/);
});
