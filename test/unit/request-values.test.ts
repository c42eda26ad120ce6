/** agent/request-values.ts: what an HTTP check sends (method, headers, body, basic auth), secrets from the environment. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { basicAuthValue, headersValue, methodValue, requestProblem } from '../../agent/request-values.ts';

const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
const headerName = fc
  .array(tokenChar, { minLength: 1, maxLength: 20 })
  .map((cs) => cs.join(''))
  .filter((n) => !['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer'].includes(n.toLowerCase()));
const headerText = fc.string({ unit: fc.constantFrom(...' \tabcXYZ019=/+:;,"'.split('')), maxLength: 40 });

test('headers: any token names and printable values come back lower-cased, values as given', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(headerName, headerText), { selector: ([n]) => n.toLowerCase(), maxLength: 10 }), (pairs) => {
      const { requestHeaders, secrets } = headersValue(Object.fromEntries(pairs), {});
      assert.deepEqual(requestHeaders, Object.fromEntries(pairs.map(([n, v]) => [n.toLowerCase(), v])));
      assert.deepEqual(secrets, []);
    }),
  );
});

test('headers: a value with a line break or control character is refused, naming the header but not the value', () => {
  fc.assert(
    fc.property(headerName, headerText, fc.constantFrom('\r', '\n', '\u0000', '\u007f'), headerText, (name, a, bad, b) => {
      assert.throws(() => headersValue({ [name]: `${a}${bad}${b}` }, {}), (err: Error) => {
        assert.equal(err.message, `${name}: the value holds a line break or a control character`);
        return true;
      });
    }),
  );
  assert.throws(() => headersValue({ 'bad name': 'x' }, {}), /"bad name" is not a header name/);
  assert.throws(() => headersValue({ Host: 'x' }, {}), /Host is set by the agent itself/);
  assert.throws(() => headersValue({ A: 'x', a: 'y' }, {}), /a is given twice/);
  assert.deepEqual(Object.keys(headersValue(JSON.parse('{"__proto__": "a", "Constructor": "b"}'), {}).requestHeaders), ['__proto__', 'constructor']);
  assert.throws(() => headersValue(['x'], {}), /expected an object of header names and values, not a list/);
});

test('headers: {env: NAME} reads the environment at start; the value is a secret, never in an error', () => {
  const { requestHeaders, secrets } = headersValue({ Authorization: { env: 'API_TOKEN' }, Accept: 'application/json' }, { API_TOKEN: 'Bearer s3cret-value' });
  assert.deepEqual(requestHeaders, { authorization: 'Bearer s3cret-value', accept: 'application/json' });
  assert.deepEqual(secrets, ['Bearer s3cret-value']);
  assert.throws(() => headersValue({ Authorization: { env: 'API_TOKEN' } }, {}), /^Error: Authorization: the environment variable API_TOKEN is not set$/);
  assert.throws(() => headersValue({ Authorization: { env: 'API_TOKEN' } }, { API_TOKEN: '' }), /API_TOKEN is not set/);
  assert.throws(() => headersValue({ Authorization: { env: 'no-such name' } }, {}), /expected a string or \{env: NAME\}/);
  assert.throws(() => headersValue({ X: { env: 'T' } }, { T: 'a\nb' }), (err: Error) => !err.message.includes('a\nb') && /X: the value holds a line break/.test(err.message));
});

test('basicAuth: user and password (or {env}) make the Authorization header; the env password and the header are secrets', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ09.@-_'.split('')), minLength: 1, maxLength: 30 }), fc.string({ maxLength: 30 }), (user, password) => {
      const { authorization, secrets } = basicAuthValue({ user, password }, {});
      assert.equal(Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8'), `${user}:${password}`);
      assert.deepEqual(secrets, []);
    }),
  );
  const fromEnv = basicAuthValue({ user: 'monitor', password: { env: 'PW' } }, { PW: 'hunter2' });
  assert.deepEqual(fromEnv.secrets, ['hunter2', fromEnv.authorization]);
  assert.throws(() => basicAuthValue({ user: 'a:b', password: 'x' }, {}), /user must be 1 to 256 characters without ":"/);
  assert.throws(() => basicAuthValue({ user: 'a', password: 'x', realm: 'r' }, {}), /unknown key "realm"/);
});

test('method, and a body only with a method that carries one', () => {
  assert.equal(methodValue(' post '), 'POST');
  assert.throws(() => methodValue('FETCH'), /expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, not "FETCH"/);
  assert.deepEqual(requestProblem({ requestBody: 'x' }), { key: 'body', message: 'needs a method that carries one (POST, PUT, PATCH, DELETE), not GET' });
  assert.equal(requestProblem({ method: 'POST', requestBody: 'x' }), undefined);
  assert.equal(requestProblem({ method: 'HEAD', bodyContains: 'x' })?.key, 'method');
});
