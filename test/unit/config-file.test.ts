/** The agent's --config file: good JSON and YAML, and every kind of bad input (exit 2, one line naming file, target and key). */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfigFile } from '../../agent/config-file.ts';
import { DEFAULT_SETTINGS } from '../../agent/target.ts';
import { ConfigError } from '../../shared/config.ts';
import { configFiles } from '../support/config-files.ts';
import { readmeBlocks } from '../support/readme.ts';

const { dir, file } = configFiles('ch2-config-');

test('JSON: per-target settings over the file defaults over the flags', async () => {
  const path = file(
    JSON.stringify({
      defaults: { interval: '2s', to: ['ops@work'], failureThreshold: 3 },
      targets: [
        {
          name: 'web',
          url: 'http://insideweb:80/',
          interval: '500ms',
          timeout: '1s',
          connectTimeout: '5s',
          expectStatus: '2xx,3xx',
          bodyContains: 'Welcome',
          bodyNotContains: 'Error',
          maxResponseTime: '300ms',
          successThreshold: 2,
          remindEvery: '5m',
          maxReminders: 3,
          to: ['admin@work', 'oncall@work'],
          message: 'Web is down!',
          upMessage: 'Web is back.',
        },
        { url: 'tcp://db:5432' },
        { name: 'api', url: 'https://api.example.test/health?deep=1', expectStatus: 200, remindEvery: 'off' },
      ],
    }),
  );
  const base = { ...DEFAULT_SETTINGS, intervalMs: 1000, remindEveryMs: 60_000 };
  const [web, db, api] = await loadConfigFile(path, base);
  assert.ok(web && db && api);
  assert.equal(web.name, 'web');
  assert.equal(web.kind, 'http');
  assert.equal(web.intervalMs, 500);
  assert.equal(web.timeoutMs, 1000);
  assert.equal(web.connectTimeoutMs, 1000, 'the connect timeout never exceeds the whole check\'s');
  assert.equal(web.bodyContains, 'Welcome');
  assert.equal(web.bodyNotContains, 'Error');
  assert.equal(web.maxResponseTimeMs, 300);
  assert.equal(web.failureThreshold, 3, 'from defaults');
  assert.equal(web.successThreshold, 2);
  assert.equal(web.remindEveryMs, 300_000);
  assert.equal(web.maxReminders, 3);
  assert.deepEqual(web.to, ['admin@work', 'oncall@work']);
  assert.equal(web.message, 'Web is down!');
  assert.equal(web.upMessage, 'Web is back.');
  assert.equal(web.expectStatus(302), true);
  assert.equal(web.expectStatus(500), false);

  assert.equal(db.name, 'tcp://db:5432', 'a target without a name is named by its URL');
  assert.equal(db.kind, 'tcp');
  assert.equal(db.intervalMs, 2000, 'from defaults');
  assert.deepEqual(db.to, ['ops@work']);
  assert.equal(db.remindEveryMs, 60_000, 'from the flags');

  assert.equal(api.expectStatusSpec, '200');
  assert.equal(api.expectStatus(204), false);
  assert.equal(api.remindEveryMs, 0);
  assert.equal(api.url.href, 'https://api.example.test/health?deep=1');
});

test('YAML, with comments, and recipients as a comma-separated string', async () => {
  const path = file(
    `# ch2 agent targets
defaults:
  interval: 1s
  to: admin@work, ops@work
targets:
  - name: web
    url: http://insideweb:80/
    bodyContains: Welcome to nginx
  - name: db
    url: tcp://10.0.0.5:5432
    timeout: 500ms
`,
    'yaml',
  );
  const targets = await loadConfigFile(path, DEFAULT_SETTINGS);
  assert.deepEqual(
    targets.map((t) => [t.name, t.kind, t.intervalMs, t.to.join(' ')]),
    [
      ['web', 'http', 1000, 'admin@work ops@work'],
      ['db', 'tcp', 1000, 'admin@work ops@work'],
    ],
  );
  assert.equal(targets[0]?.bodyContains, 'Welcome to nginx');
  assert.equal(targets[1]?.timeoutMs, 500);
});

test('a file without an extension is JSON when it starts with "{", else YAML', async () => {
  const json = join(dir, 'plain-json');
  writeFileSync(json, '{"targets": [{"url": "http://a/"}]}');
  const yaml = join(dir, 'plain-yaml');
  writeFileSync(yaml, 'targets:\n  - url: http://b/\n');
  assert.equal((await loadConfigFile(json, DEFAULT_SETTINGS))[0]?.name, 'http://a/');
  assert.equal((await loadConfigFile(yaml, DEFAULT_SETTINGS))[0]?.name, 'http://b/');
});

const BAD: Array<[what: string, text: string, ext: string, reason: RegExp]> = [
  ['not JSON', '{"targets": [', 'json', /not valid JSON/],
  ['not YAML', 'targets: [\n  - url: "http://a/\n', 'yaml', /not valid YAML/],
  ['duplicate YAML key', 'targets:\n  - url: http://a/\n    url: http://b/\n', 'yaml', /not valid YAML.*(unique|duplicate)/i],
  ['a list at the top', '[]', 'json', /expected an object with "targets"/],
  ['empty YAML document', '', 'yaml', /expected an object with "targets".*null/],
  ['unknown top key', '{"targets": [{"url": "http://a/"}], "target": []}', 'json', /unknown key "target" at the top/],
  ['no targets', '{"defaults": {}}', 'json', /"targets": missing/],
  ['empty targets', '{"targets": []}', 'json', /"targets": the list is empty/],
  ['targets not a list', '{"targets": {"url": "http://a/"}}', 'json', /"targets": expected a list, not an object/],
  ['target not an object', '{"targets": ["http://a/"]}', 'json', /targets\[0\]: expected an object with "url"/],
  ['no url', '{"targets": [{"name": "web"}]}', 'json', /targets\[0\] \("web"\): "url": missing/],
  ['url not a URL', '{"targets": [{"name": "web", "url": "insideweb"}]}', 'json', /targets\[0\] \("web"\): "url": "insideweb" is not a URL/],
  ['ftp url', '{"targets": [{"url": "ftp://a/"}]}', 'json', /targets\[0\]: "url": expected a URL starting http:\/\/, https:\/\/, tcp:\/\/ or dns:\/\//],
  ['tcp without port', '{"targets": [{"url": "tcp://db"}]}', 'json', /"url": a tcp:\/\/ target needs a port/],
  ['tcp with a path', '{"targets": [{"url": "tcp://db:5432/x"}]}', 'json', /"url": a tcp:\/\/ target is tcp:\/\/host:port/],
  ['unknown target key', '{"targets": [{"name": "web", "url": "http://a/", "intervall": "1s"}]}', 'json', /targets\[0\] \("web"\): "intervall": unknown key; known keys: name, url, interval/],
  ['a key in the wrong case', '{"targets": [{"url": "http://a/", "body_contains": "x"}]}', 'json', /"body_contains": unknown key \(did you mean "bodyContains"\?\)/],
  ['unknown defaults key', '{"defaults": {"retries": 3}, "targets": [{"url": "http://a/"}]}', 'json', /defaults: "retries": unknown key/],
  ['url in defaults', '{"defaults": {"url": "http://a/"}, "targets": [{"url": "http://a/"}]}', 'json', /defaults: "url": belongs to a target/],
  ['defaults not an object', '{"defaults": [], "targets": [{"url": "http://a/"}]}', 'json', /"defaults": expected an object, not a list/],
  ['duration as a list', '{"targets": [{"url": "http://a/", "interval": [1]}]}', 'json', /"interval": expected a duration such as "500ms".*or a number of seconds, not a list/],
  ['duration nonsense', '{"targets": [{"url": "http://a/", "timeout": "soon"}]}', 'json', /"timeout": expected a duration such as "500ms".*not "soon"/],
  ['interval too short', '{"targets": [{"url": "http://a/", "interval": "10ms"}]}', 'json', /"interval": expected a duration from 100ms to 1h/],
  ['remindEvery too short', '{"targets": [{"url": "http://a/", "remindEvery": "100ms"}]}', 'json', /"remindEvery": expected a duration from 1s/],
  ['threshold zero', '{"targets": [{"url": "http://a/", "failureThreshold": 0}]}', 'json', /"failureThreshold": expected a whole number from 1 to 100, not number 0/],
  ['threshold as text', '{"targets": [{"url": "http://a/", "successThreshold": "two"}]}', 'json', /"successThreshold": expected a whole number.*not "two"/],
  ['threshold fraction', '{"targets": [{"url": "http://a/", "failureThreshold": 1.5}]}', 'json', /"failureThreshold": expected a whole number/],
  ['maxReminders negative', '{"targets": [{"url": "http://a/", "maxReminders": -1}]}', 'json', /"maxReminders": expected a whole number from 0/],
  ['bad expectStatus', '{"targets": [{"url": "http://a/", "expectStatus": "2xx,abc"}]}', 'json', /"expectStatus": "abc" is not a status/],
  ['empty bodyContains', '{"targets": [{"url": "http://a/", "bodyContains": " "}]}', 'json', /"bodyContains": must not be empty/],
  ['bodyNotContains not text', '{"targets": [{"url": "http://a/", "bodyNotContains": 5}]}', 'json', /"bodyNotContains": expected a string, not number 5/],
  ['bad recipient', '{"targets": [{"url": "http://a/", "to": ["admin@work", "nobody"]}]}', 'json', /"to": "nobody" is not an e-mail address/],
  ['no recipients', '{"targets": [{"url": "http://a/", "to": []}]}', 'json', /"to": expected an e-mail address or a list of them/],
  ['empty message', '{"targets": [{"url": "http://a/", "message": ""}]}', 'json', /"message": must not be empty/],
  ['null value', '{"targets": [{"url": "http://a/", "timeout": null}]}', 'json', /"timeout": has no value/],
  ['name not text', '{"targets": [{"url": "http://a/", "name": 7}]}', 'json', /targets\[0\]: "name": expected a string, not number 7/],
  ['name with a line break', '{"targets": [{"url": "http://a/", "name": "a\\nb"}]}', 'json', /"name": must not contain line breaks/],
  ['duplicate names', '{"targets": [{"name": "web", "url": "http://a/"}, {"name": "web", "url": "http://b/"}]}', 'json', /targets\[1\] \("web"\): the name "web" is already used by targets\[0\]/],
  ['insecure on an http target', '{"targets": [{"url": "http://a/", "insecure": true}]}', 'json', /targets\[0\]: "insecure": applies to https:\/\/ targets only\./],
  ['caFile on a tcp target', '{"targets": [{"url": "tcp://a:1", "caFile": "/x.pem"}]}', 'json', /"caFile": applies to https:\/\/ targets only\./],
  ['insecure not a boolean', '{"targets": [{"url": "https://a/", "insecure": "maybe"}]}', 'json', /"insecure": expected true or false, not "maybe"/],
  ['caFile missing', '{"targets": [{"url": "https://a/", "caFile": "/nonexistent/ca.pem"}]}', 'json', /"caFile": cannot read "\/nonexistent\/ca\.pem": no such file/],
  ['one origin, two trusts', '{"targets": [{"url": "https://a/x"}, {"url": "https://a/y", "insecure": true}]}', 'json', /targets\[1\]: targets on https:\/\/a share its connections, so they must have the same caFile and insecure; targets\[0\] has others/],
  ['certExpiry too short', '{"targets": [{"url": "https://a/", "certExpiry": "30m"}]}', 'json', /"certExpiry": expected a duration from 1h to 366d, not "30m"/],
  ['certExpiry on an http target', '{"targets": [{"url": "http://a/", "certExpiry": "14d"}]}', 'json', /"certExpiry": applies to https:\/\/ targets only\./],
  ['headers on a tcp target', '{"targets": [{"url": "tcp://a:1", "headers": {"X": "y"}}]}', 'json', /"headers": cannot apply to a tcp:\/\/ target/],
  ['a body with GET', '{"targets": [{"url": "http://a/", "body": "x"}]}', 'json', /targets\[0\]: "body": needs a method that carries one \(POST, PUT, PATCH, DELETE\), not GET\./],
  ['a bad method', '{"targets": [{"url": "http://a/", "method": "FETCH"}]}', 'json', /"method": expected one of GET, HEAD/],
  ['follow not a boolean', '{"targets": [{"url": "http://a/", "follow": "sometimes"}]}', 'json', /"follow": expected true or false/],
  ['json on a tcp target', '{"targets": [{"url": "tcp://a:1", "json": [{"path": "$.a", "equals": 1}]}]}', 'json', /"json": cannot apply to a tcp:\/\/ target/],
  ['json with HEAD', '{"targets": [{"url": "http://a/", "method": "HEAD", "json": [{"path": "$.a", "equals": 1}]}]}', 'json', /"method": HEAD answers have no body: drop bodyContains, bodyNotContains and json\./],
  ['a bad json path', '{"targets": [{"url": "http://a/", "json": [{"path": "$..a", "equals": 1}]}]}', 'json', /"json": \[0\]: expected a name after "\."/],
  ['duplicate URLs without names', '{"targets": [{"url": "http://a/"}, {"url": "http://a/"}]}', 'json', /targets\[1\]: the name "http:\/\/a\/" is already used by targets\[0\]/],
];

for (const [what, text, ext, reason] of BAD) {
  test(`bad config is refused with its place named: ${what}`, async () => {
    const path = file(text, ext);
    await assert.rejects(loadConfigFile(path, DEFAULT_SETTINGS), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
      assert.ok(err.message.startsWith(`config file ${path}: `), err.message);
      assert.match(err.message, reason);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });
}

test('caFile and insecure: https targets take them from defaults, others drop them', async () => {
  const pem = file('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n', 'pem');
  await assert.rejects(loadConfigFile(file(`{"targets": [{"url": "https://a/", "caFile": ${JSON.stringify(pem)}}]}`), DEFAULT_SETTINGS), /"caFile": certificate 1 of .* is not a valid PEM certificate/);
  const targets = await loadConfigFile(file('{"defaults": {"insecure": true}, "targets": [{"url": "https://a/"}, {"url": "http://b/"}, {"url": "tcp://c:1"}]}'), DEFAULT_SETTINGS);
  assert.deepEqual(targets.map((t) => t.insecure), [true, undefined, undefined]);
  const expiry = await loadConfigFile(file('{"defaults": {"certExpiry": "14d"}, "targets": [{"url": "https://a/"}, {"url": "https://b/", "certExpiry": "off"}, {"url": "http://c/"}]}'), DEFAULT_SETTINGS);
  assert.deepEqual(expiry.map((t) => t.certExpiryMs), [14 * 86_400_000, undefined, undefined]);
});

test("the README's request example loads, its secrets from the environment", async () => {
  const block = readmeBlocks().find((b) => b.text.includes('basicAuth: {user: monitor'));
  assert.ok(block, 'the example is in the README');
  const path = file(block.text, 'yaml');
  const [api, shop] = await loadConfigFile(path, DEFAULT_SETTINGS, { API_TOKEN: 'Bearer t', SHOP_PASSWORD: 'pw' });
  assert.equal(api?.method, 'POST');
  assert.deepEqual(api?.requestHeaders, { authorization: 'Bearer t', accept: 'application/json' });
  assert.deepEqual(api?.headerSecrets, ['Bearer t']);
  assert.equal(shop?.follow, true);
  assert.equal(shop?.basicAuth?.authorization, `Basic ${Buffer.from('monitor:pw').toString('base64')}`);
  await assert.rejects(loadConfigFile(path, DEFAULT_SETTINGS, {}), /targets\[0\] \("api"\): "headers": Authorization: the environment variable API_TOKEN is not set\./);
});

test('a missing file and a directory are refused by name', async () => {
  await assert.rejects(loadConfigFile(join(dir, 'nope.yaml'), DEFAULT_SETTINGS), /config file .*nope\.yaml: cannot read it \(no such file\)/);
  await assert.rejects(loadConfigFile(dir, DEFAULT_SETTINGS), /cannot read it \(is a directory\)/);
});
