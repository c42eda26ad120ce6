/**
 * The templated generic webhook (mailer/delivery/channels/webhook-template.ts):
 * the exact request it renders for JSON, form and text bodies, sections and
 * absent fields, the header lines, every way a file is refused at load (one
 * line naming the file), and properties: whatever the alert says, a JSON body
 * parses and gives each field back as the alert had it, a form body decodes
 * to the same values, text and headers stay on their lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import Mustache from 'mustache';
import { createHttpPost } from '../../mailer/delivery/channels/http-post.ts';
import { loadWebhookTemplate, parseWebhookTemplate, renderWebhookTemplate, TEMPLATE_FIELDS } from '../../mailer/delivery/channels/webhook-template.ts';
import { formatDurationCoarse } from '../../shared/duration.ts';
import { emailContent } from '../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { ConfigError } from '../../shared/config.ts';
import { Receiver } from '../support/http-receiver.ts';
import { sampleAlert } from '../support/sample-alert.ts';

const dir = mkdtempSync(join(tmpdir(), 'ch2-template-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const yaml = (text: string) => parseWebhookTemplate('t.yaml', text);
const render = (text: string, item: QueuedAlert = sampleAlert('a-1')) => renderWebhookTemplate(yaml(text), item);

test('JSON: every placeholder, exact body; absent strings render empty, an absent bare number null', () => {
  const t = yaml(`body: '{"id":"{{id}}","status":"{{status}}","S":"{{Status}}","to":"{{to}}","message":"{{message}}","title":"{{title}}","target":"{{target}}","reason":"{{reason}}","time":"{{time}}","ms":{{downForMs}},"for":"{{downFor}}","n":{{reminder}},"nq":"{{reminder}}","at":"{{receivedAt}}","incident":"{{incident}}"}'`);
  assert.equal(t.method, 'POST');
  assert.equal(t.contentType, 'application/json');
  const down = renderWebhookTemplate(t, sampleAlert('a-1', { reminder: 2, incident: 'inc-7' }));
  assert.deepEqual(down, {
    method: 'POST',
    contentType: 'application/json',
    headers: {},
    body: '{"id":"a-1","status":"down","S":"DOWN","to":"admin@work","message":"The service is down!","title":"[STILL DOWN] http://insideweb:80/ — The service is down!","target":"http://insideweb:80/","reason":"connection refused","time":"2024-05-01T10:00:00.000Z","ms":null,"for":"","n":2,"nq":"2","at":"2024-05-01T10:00:01.000Z","incident":"inc-7"}',
  });
  const up = renderWebhookTemplate(t, sampleAlert('a-2', { status: 'up', target: undefined, reason: undefined, time: undefined, downForMs: 200_000 }));
  assert.equal(
    up.body,
    '{"id":"a-2","status":"up","S":"UP","to":"admin@work","message":"The service is down!","title":"[UP] The service is down!","target":"","reason":"","time":"2024-05-01T10:00:01.000Z","ms":200000,"for":"3m 20s","n":null,"nq":"","at":"2024-05-01T10:00:01.000Z","incident":"a-2"}',
  );
});

test('JSON: quotes, backslashes, line breaks, U+2028 and tags in alert data are escaped, never rendered', () => {
  const { body } = render('body: \'{"m": "{{message}}", "r": "{{reason}}"}\'', sampleAlert('a', { message: 'say "hi"\\\n{{id}}}}', reason: 'a\u2028b\u0000' }));
  assert.equal(body, '{"m": "say \\"hi\\"\\\\\\n{{id}}}}", "r": "a\\u2028b\\u0000"}');
  assert.deepEqual(JSON.parse(body), { m: 'say "hi"\\\n{{id}}}}', r: 'a\u2028b\u0000' });
});

test('sections: {{#x}} when x is present (0 counts, "" does not), {{^x}} when absent', () => {
  const text = `body: '{"a":1{{#reason}},"reason":"{{reason}}"{{/reason}}{{^reason}},"none":true{{/reason}}{{#downForMs}},"ms":{{downForMs}}{{/downForMs}}}'`;
  assert.equal(render(text).body, '{"a":1,"reason":"connection refused"}');
  assert.equal(render(text, sampleAlert('a', { reason: '', downForMs: 0 })).body, '{"a":1,"none":true,"ms":0}');
  assert.equal(render(text, sampleAlert('a', { reason: undefined })).body, '{"a":1,"none":true}');
});

test('form: values form-encoded as URLSearchParams does; the body is trimmed', () => {
  const r = render('contentType: application/x-www-form-urlencoded\nbody: |\n  text={{message}}&target={{target}}&n={{reminder}}\n', sampleAlert('a', { message: "a b&c=d+e/f?g%h'!~*(é)\n" }));
  assert.equal(r.contentType, 'application/x-www-form-urlencoded');
  assert.equal(r.body, 'text=a+b%26c%3Dd%2Be%2Ff%3Fg%25h%27%21%7E*%28%C3%A9%29%0A&target=http%3A%2F%2Finsideweb%3A80%2F&n=');
  assert.equal(r.body, new URLSearchParams({ text: "a b&c=d+e/f?g%h'!~*(é)\n", target: 'http://insideweb:80/', n: '' }).toString());
});

test('text/*: values flattened to one printable line; the template keeps its own lines', () => {
  const r = render('method: put\ncontentType: text/plain; charset=utf-8\nbody: |\n  {{Status}} {{target}}\n  {{message}}\n', sampleAlert('a', { message: 'line one\r\nline\u0007 two\u2029\u001b[31m' }));
  assert.deepEqual(r, { method: 'PUT', contentType: 'text/plain; charset=utf-8', headers: {}, body: 'DOWN http://insideweb:80/\nline one line two [31m\n' });
  assert.equal(render('contentType: text/markdown\nbody: "*{{status}}*"').body, '*down*');
});

test('headers: names lower-cased, values rendered to one printable ASCII line (non-ASCII %-encoded)', () => {
  const r = render('method: PATCH\nheaders:\n  X-Source: ch2\n  X-Target: "{{target}} / {{message}}"\n  X-Priority: 5\nbody: "{}"', sampleAlert('a', { message: 'x\r\nInjected: yes\té' }));
  assert.equal(r.method, 'PATCH');
  assert.deepEqual(r.headers, { 'x-source': 'ch2', 'x-target': 'http://insideweb:80/ / x Injected: yes %C3%A9', 'x-priority': '5' });
});

test('a rendered request goes through http-post as is, hostile data and all', async () => {
  const rx = new Receiver();
  await rx.listen();
  const http = createHttpPost({ url: new URL(`${rx.base}/hook`) });
  try {
    const r = render('method: PUT\nheaders: { X-Msg: "{{message}}" }\nbody: \'{"m":"{{message}}"}\'', sampleAlert('a', { message: 'ü"\n\u0000' }));
    assert.equal((await http.send({ body: r.body, contentType: r.contentType, headers: r.headers, method: r.method as 'PUT' }, new AbortController().signal)).ok, true);
    const hit = rx.hits[0]!;
    assert.equal(hit.method, 'PUT');
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['x-msg'], '%C3%BC"');
    assert.deepEqual(JSON.parse(hit.body), { m: 'ü"\n\u0000' });
  } finally {
    await http.close();
    await rx.close();
  }
});

test('the example docs/examples/webhook-template.yaml loads and renders valid JSON', () => {
  const t = loadWebhookTemplate('docs/examples/webhook-template.yaml');
  assert.deepEqual(JSON.parse(renderWebhookTemplate(t, sampleAlert('a-1', { reminder: 3 })).body), {
    text: 'DOWN http://insideweb:80/: The service is down!',
    status: 'down',
    reason: 'connection refused',
    down_ms: null,
    incident: 'http://insideweb:80/',
    time: '2024-05-01T10:00:00.000Z',
    reminder: 3,
  });
  assert.deepEqual(renderWebhookTemplate(t, sampleAlert('a-1')).headers, { 'x-source': 'ch2', 'x-alert-id': 'a-1' });
});

test('a JSON file (.json) is read as JSON', () => {
  const t = loadWebhookTemplate(file('t.json', JSON.stringify({ method: 'PUT', body: '["{{id}}"]' })));
  assert.deepEqual(renderWebhookTemplate(t, sampleAlert('x"1')), { method: 'PUT', contentType: 'application/json', headers: {}, body: '["x\\"1"]' });
});

test('rendering never touches the global Mustache.escape (HTML escaping stays the default)', () => {
  render('body: \'["{{message}}"]\'', sampleAlert('a', { message: '<"&>' }));
  assert.equal(Mustache.render('{{x}}', { x: '<&>' }), '&lt;&amp;&gt;');
});

const REFUSED: [string, string, RegExp][] = [
  ['bad.yaml', 'body: [unclosed', /not valid YAML/],
  ['bad.json', '{"body": ', /not valid JSON/],
  ['list.yaml', '- body', /expected a mapping/],
  ['key.yaml', 'body: "{}"\nbodyy: x', /unknown key bodyy/],
  ['nobody.yaml', 'method: POST', /body: expected a template/],
  ['method.yaml', 'method: GET\nbody: "{}"', /method: expected POST, PUT, PATCH/],
  ['ctype.yaml', 'contentType: application/xml\nbody: x', /application\/xml cannot be escaped/],
  ['ctype2.yaml', 'contentType: json\nbody: x', /contentType: expected a media type/],
  ['charset.yaml', 'contentType: text/plain; charset=latin1\nbody: x', /sent as UTF-8, not latin1/],
  ['name.yaml', 'body: \'["{{nope}}"]\'', /body: unknown placeholder \{\{nope\}\}/],
  ['dotted.yaml', 'body: \'["{{alert.id}}"]\'', /unknown placeholder \{\{alert\.id\}\}/],
  ['triple.yaml', 'body: \'["{{{message}}}"]\'', /\{\{\{message\}\}\} would put alert data in unescaped/],
  ['amp.yaml', 'body: \'["{{& message}}"]\'', /\{\{& message\}\} would put alert data in unescaped/],
  ['partial.yaml', 'body: "[{{> p}}]"', /partials .* are not supported/],
  ['delims.yaml', 'body: "{{=<% %>=}}[]"', /changing delimiters/],
  ['tag.yaml', 'body: "[{{#reason}}]"', /not a valid template \(Unclosed section "reason"/],
  ['bare.yaml', 'body: \'{"m": {{message}}}\'', /\{\{message\}\} stands outside a JSON string: write "\{\{message\}\}"/],
  ['backslash.yaml', 'body: \'["\\{{message}}"]\'', /\{\{message\}\} follows a backslash/],
  ['open.yaml', 'body: \'["{{message}}\'', /a JSON string is left open/],
  ['section.yaml', 'body: \'[{{#reason}}"{{/reason}}"]\'', /section \{\{#reason\}\}…\{\{\/reason\}\} must end inside or outside a JSON string/],
  ['invalid.yaml', 'body: \'{"a": 1,}\'', /body: renders invalid JSON \(/],
  ['mixed.yaml', 'body: \'[{{#reason}}1{{/reason}}{{^target}}"x"{{/target}}]\'', /renders invalid JSON when target is absent/],
  ['form.yaml', 'contentType: application/x-www-form-urlencoded\nbody: "a={{id}} &b=1"', /form body may hold no spaces/],
  ['hname.yaml', 'headers: { "X {{id}}": a }\nbody: "{}"', /headers: X \{\{id\}\} is not a header name/],
  ['host.yaml', 'headers: { Host: a }\nbody: "{}"', /headers: Host is set by the mailer/],
  ['clen.yaml', 'headers: { Content-Length: "1" }\nbody: "{}"', /Content-Length is set by the mailer/],
  ['te.yaml', 'headers: { Transfer-Encoding: chunked }\nbody: "{}"', /Transfer-Encoding is set by the mailer/],
  ['ct.yaml', 'headers: { Content-Type: text/plain }\nbody: "{}"', /set by the mailer \(use contentType\)/],
  ['twice.yaml', 'headers: { X-A: a, x-a: b }\nbody: "{}"', /headers: x-a is given twice/],
  ['hvalue.yaml', 'headers: { X-A: "a\\nb" }\nbody: "{}"', /headers\.X-A: the value must be printable ASCII on one line/],
  ['hunicode.yaml', 'headers: { X-A: "é" }\nbody: "{}"', /headers\.X-A: the value must be printable ASCII/],
  ['htriple.yaml', 'headers: { X-A: "{{{id}}}" }\nbody: "{}"', /headers\.X-A: \{\{\{id\}\}\} would put alert data in unescaped/],
  ['hobj.yaml', 'headers: { X-A: [1] }\nbody: "{}"', /headers\.X-A: expected a text value/],
];

test('refused at load: a ConfigError of one line naming the file and what is wrong', () => {
  for (const [name, text, what] of REFUSED) {
    const path = file(name, text);
    assert.throws(
      () => loadWebhookTemplate(path),
      (err: Error) => {
        assert.ok(err instanceof ConfigError, name);
        assert.doesNotMatch(err.message, /\n/, name);
        assert.ok(err.message.startsWith(`webhook template ${path}: `), err.message);
        assert.match(err.message, what, `${name}: ${err.message}`);
        return true;
      },
      `${name} was accepted`,
    );
  }
});

test('refused at load: a missing file, a directory, a file too large', () => {
  mkdirSync(join(dir, 'sub'));
  const big = file('big.yaml', `body: "${'x'.repeat(70_000)}"`);
  for (const [path, what] of [[join(dir, 'none.yaml'), /cannot read it \(no such file\)/], [join(dir, 'sub'), /cannot read it \(is a directory\)/], [big, /larger than 65536 bytes/]] as const) {
    assert.throws(() => loadWebhookTemplate(path), (err: Error) => err instanceof ConfigError && !err.message.includes('\n') && err.message.startsWith(`webhook template ${path}: `) && what.test(err.message));
  }
});

/** Strings meant to break a body: any code points, and runs of quotes, backslashes, line breaks, braces and tags. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\r', '{', '}', '{{', '}}', '{{{', '&', '=', '+', '%', '\u2028', '\u2029', '\u0000', 'é', '🙂', '\ud800', ' ') }),
);
const alerts = fc
  .record({ id: hostile, to: hostile, message: hostile, target: fc.option(hostile, { nil: undefined }), reason: fc.option(hostile, { nil: undefined }), time: hostile, incident: fc.option(hostile, { nil: undefined }), status: fc.constantFrom('down' as const, 'up' as const), downForMs: fc.option(fc.nat(), { nil: undefined }), reminder: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }) })
  .map((a) => sampleAlert(a.id, a));

test('JSON body parses and gives every field back exactly as the alert had it (property)', () => {
  const strings = TEMPLATE_FIELDS.filter((f) => f !== 'downForMs' && f !== 'reminder' && f !== 'count');
  const t = yaml(`body: '{${strings.map((f) => `"${f}":"{{${f}}}"`).join(',')},"downForMs":{{downForMs}},"reminder":{{reminder}},"count":{{count}}}'`);
  fc.assert(
    fc.property(alerts, (item) => {
      const { alert } = item;
      const got = JSON.parse(renderWebhookTemplate(t, item).body) as Record<string, unknown>;
      assert.deepEqual(got, {
        id: alert.id, status: alert.status, Status: alert.status.toUpperCase(), to: alert.to, message: alert.message, title: emailContent(item).subject,
        target: alert.target ?? '', reason: alert.reason ?? '', time: alert.time, downFor: alert.downForMs !== undefined ? formatDurationCoarse(alert.downForMs) : '', receivedAt: '2024-05-01T10:00:01.000Z',
        incident: alert.incident ?? alert.target ?? alert.id, downForMs: alert.downForMs ?? null, reminder: alert.reminder ?? null, count: 1,
      });
    }),
  );
});

test('form body decodes (URLSearchParams) to the very values (property)', () => {
  const t = yaml('contentType: application/x-www-form-urlencoded\nbody: "id={{id}}&to={{to}}&message={{message}}&target={{target}}&reason={{reason}}&incident={{incident}}"');
  fc.assert(
    fc.property(alerts, (item) => {
      const { alert } = item;
      const got = Object.fromEntries(new URLSearchParams(renderWebhookTemplate(t, item).body));
      const want = { id: alert.id, to: alert.to, message: alert.message, target: alert.target ?? '', reason: alert.reason ?? '', incident: alert.incident ?? alert.target ?? alert.id };
      assert.deepEqual(got, Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v.toWellFormed()])));
    }),
  );
});

test('text bodies keep the template\'s lines and headers stay one printable ASCII line (property)', () => {
  const t = yaml('contentType: text/plain\nheaders: { X-A: "{{message}} {{target}}" }\nbody: "a {{message}}\\nb {{reason}}\\n"');
  fc.assert(
    fc.property(alerts, (item) => {
      const r = renderWebhookTemplate(t, item);
      assert.match(r.body, /^a [^\n]*\nb [^\n]*\n$/);
      assert.doesNotMatch(r.body.slice(0, -1).replace('\n', ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      assert.match(r.headers['x-a']!, /^[\x20-\x7e]*$/);
    }),
  );
});

