/**
 * The hub's SVG badges (mailer/hub/badges.ts): well-formed XML whatever the
 * text (a property, checked by a strict little XML reader: balanced tags,
 * quoted attributes, no bare < or &, only XML characters), the text shown
 * escaped in <title> and aria-label, the width growing with the text, the
 * colour per state, uptime and response time, the ETag stable for a
 * body and different for another, and, through the routes, the badge of a
 * target the hub does not know.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { Access } from '../../mailer/hub/access.ts';
import { badgeEtag, renderBadge, responseBadge, statusBadge, textWidth, unknownTargetBadge, uptimeBadge } from '../../mailer/hub/badges.ts';
import type { EventStreams } from '../../mailer/hub/event-stream.ts';
import type { StatusHub } from '../../mailer/hub/hub.ts';
import { PageRoutes } from '../../mailer/hub/hub-routes.ts';
import type { StatusViews } from '../../mailer/hub/hub-view.ts';
import type { TargetView } from '../../mailer/hub/status-view.ts';
import { escapeHtml } from '../../mailer/hub/page/html.ts';

const ENTITY = /&(amp|lt|gt|quot|#39);/g;

/** Throws unless `xml` is one well-formed element (the subset an SVG badge uses: no comments, CDATA or prolog). */
function assertWellFormed(xml: string): void {
  assert.doesNotMatch(xml, /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u, 'only XML characters');
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  while (at < xml.length) {
    token.lastIndex = at;
    const m = token.exec(xml);
    assert.ok(m, `not well-formed at ${at}: ${JSON.stringify(xml.slice(at, at + 40))}`);
    at = token.lastIndex;
    const [, close, name, attrs, selfClose, text] = m;
    if (text !== undefined) {
      assert.ok(stack.length > 0, 'text outside the root');
      assert.doesNotMatch(text.replace(ENTITY, ''), /&/, 'a bare & in text');
      continue;
    }
    assert.doesNotMatch((attrs ?? '').replace(ENTITY, ''), /&/, 'a bare & in an attribute');
    const names = [...(attrs ?? '').replace(/"[^"]*"/g, '""').matchAll(/([\w:-]+)=/g)].map((a) => a[1]);
    assert.equal(new Set(names).size, names.length, 'an attribute twice');
    if (close) assert.equal(stack.pop(), name, `</${name}> closes something else`);
    else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

const colour = fc.constantFrom('green', 'yellow', 'orange', 'red', 'grey') as fc.Arbitrary<'green' | 'yellow' | 'orange' | 'red' | 'grey'>;
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('<script>', '"><x y="', ']]>', '&amp;', '\u0000', '\uD800', '</svg>'));

test('any label and value make a well-formed SVG with the text escaped in its title and aria-label', () => {
  fc.assert(
    fc.property(text, text, colour, (label, value, color) => {
      const svg = renderBadge(label, value, color);
      assertWellFormed(svg);
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="20" role="img" aria-label="[^"]*"><title>/);
      const both = escapeHtml(`${label}: ${value}`);
      assert.ok(svg.includes(`aria-label="${both}"><title>${both}</title>`));
      assert.equal(svg.split('<text ').length - 1, 4);
    }),
    { numRuns: 300 },
  );
});

test('the XML reader refuses what is not well-formed (so the property above can fail)', () => {
  for (const bad of ['<svg><title>a < b</title></svg>', '<svg a="1" a="2"></svg>', '<svg><g></svg>', '<svg>&</svg>', '<svg a=1></svg>', '<svg/><svg/>', '<svg>\u0001</svg>']) assert.throws(() => assertWellFormed(bad), bad);
  assertWellFormed(renderBadge('status', 'up', 'green'));
});

test('the width follows the text (Verdana 11 px), the fill the colour', () => {
  const short = renderBadge('status', 'up', 'green');
  const long = renderBadge('status', 'unknown', 'grey');
  const width = (svg: string): number => Number(/width="(\d+)"/.exec(svg)?.[1]);
  assert.ok(width(long) > width(short));
  assert.equal(width(short), textWidth('status') + textWidth('up') + 24);
  assert.equal(textWidth('W'), Math.ceil(0.989 * 11));
  assert.ok(textWidth('漢字') > textWidth('ab'), 'wide characters are wider');
  assert.match(short, /fill="#4c1"/);
  assert.match(renderBadge('a', 'b', 'red'), /fill="#e05d44"/);
});

test('status, uptime and response badges: value and colour', () => {
  assert.deepEqual(statusBadge('up'), { label: 'status', value: 'up', color: 'green' });
  assert.deepEqual(statusBadge('down'), { label: 'status', value: 'down', color: 'red' });
  assert.deepEqual(statusBadge('unknown'), { label: 'status', value: 'unknown', color: 'grey' });
  assert.deepEqual(uptimeBadge('24h', 1), { label: 'uptime 24h', value: '100 %', color: 'green' });
  assert.deepEqual(uptimeBadge('7d', 0.9995), { label: 'uptime 7d', value: '99.95 %', color: 'green' });
  assert.deepEqual(uptimeBadge('30d', 0.995), { label: 'uptime 30d', value: '99.50 %', color: 'yellow' });
  assert.deepEqual(uptimeBadge('90d', 0.96), { label: 'uptime 90d', value: '96.00 %', color: 'orange' });
  assert.deepEqual(uptimeBadge('24h', 0.5), { label: 'uptime 24h', value: '50.00 %', color: 'red' });
  assert.deepEqual(uptimeBadge('24h', null), { label: 'uptime 24h', value: 'no data', color: 'grey' });
  assert.deepEqual(responseBadge(250), { label: 'response', value: '≤ 250 ms', color: 'green' });
  assert.deepEqual(responseBadge(1000), { label: 'response', value: '≤ 1000 ms', color: 'yellow' });
  assert.deepEqual(responseBadge(2500), { label: 'response', value: '≤ 2500 ms', color: 'orange' });
  assert.deepEqual(responseBadge(Infinity), { label: 'response', value: '> 10000 ms', color: 'red' });
  assert.deepEqual(responseBadge(null), { label: 'response', value: 'no data', color: 'grey' });
});

test('badgeEtag: a quoted base64url SHA-1, the same for the same body, another for another', () => {
  const a = renderBadge('status', 'up', 'green');
  const b = renderBadge('status', 'down', 'red');
  assert.match(badgeEtag(a), /^"[A-Za-z0-9_-]{27}"$/);
  assert.equal(badgeEtag(a), badgeEtag(renderBadge('status', 'up', 'green')));
  assert.notEqual(badgeEtag(a), badgeEtag(b));
  assert.notEqual(badgeEtag(a), badgeEtag(`${a} `));
});

test('GET /badge/<unknown target>/…: a grey badge saying "unknown target" (200, as shields.io answers); a known one its state; another shape a 404', async (t) => {
  const known = { name: 'web', state: 'up', uptime: { '24h': 1, '7d': 1, '30d': 1, '90d': 1 }, responseMs: { p50: 25, p95: 50 } } as unknown as TargetView;
  const views = { target: (name: string) => (name === 'web' ? known : undefined) } as unknown as StatusViews;
  const quiet: Logger = { debug() {}, info() {}, output() {}, warn() {}, error() {} };
  const routes = new PageRoutes({ hub: {} as StatusHub, views, streams: {} as EventStreams, access: new Access(undefined, false), log: quiet, readBody: async () => undefined });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void routes.serve(req, res, url.pathname, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [path, label] of [['status', 'status'], ['uptime-7d', 'uptime 7d'], ['response-time-24h', 'response']] as const) {
    const res = await fetch(`${base}/badge/${encodeURIComponent('http://typo/')}/${path}.svg`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
    const svg = await res.text();
    assertWellFormed(svg);
    assert.match(svg, new RegExp(`aria-label="${label}: unknown target"`), path);
  }
  assert.deepEqual(unknownTargetBadge('status'), { label: 'status', value: 'unknown target', color: 'grey' });
  assert.match(await (await fetch(`${base}/badge/web/status.svg`)).text(), /aria-label="status: up"/);
  assert.equal((await fetch(`${base}/badge/web/nothing.svg`)).status, 404);
});
