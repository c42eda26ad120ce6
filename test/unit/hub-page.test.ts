/**
 * The hub's status page (mailer/hub/page/): escaping (a property: any
 * untrusted string in every alert/report field leaves the page's markup
 * exactly as with a harmless placeholder: same tags, attributes and quote
 * structure, the text shown escaped), filtering and paging (down first,
 * page 2 the next rows, the filter echoed escaped), the 90 + 24 bars with
 * their text alternatives, the incidents fragment, a target's page, the
 * login page, the silence form only with a CSRF token, and the words
 * format.ts gives numbers and times.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import type { IncidentView, StatusView } from '../../mailer/hub/status-view.ts';
import { formatElapsed } from '../../shared/duration.ts';
import { barLabel, formatAgo, formatResponse, formatUptime, LAST_BUCKET_MS, stateClass, uptimeLevel, utcHour } from '../../mailer/hub/page/format.ts';
import { escapeHtml, html, trusted } from '../../mailer/hub/page/html.ts';
import { pageTargets, readPageQuery, renderIncidentList, renderLoginPage, renderStatusPage, renderTargetPage, type PageOptions } from '../../mailer/hub/page/render-page.ts';
import { STATUS_CSS, STATUS_CSS_HASH, STATUS_REST_PATH } from '../../mailer/hub/page/page-style.ts';
import { barPaths, decodeBars, encodeBars, expandTokens, shiftCells } from '../../mailer/hub/page/bar-strip.ts';
import { SAMPLE_NOW, sampleBars, sampleIncident, sampleStatusView, sampleTarget } from '../support/status-view-sample.ts';

const opts = (over: Partial<PageOptions> = {}): PageOptions => ({ filter: '', page: 1, perPage: 50, csrf: 'csrf-token', scriptPath: '/static/page.js', now: SAMPLE_NOW, ...over });

/** Every string an alert or a report brought, set to `s`. */
function untrusted(view: StatusView, s: string): StatusView {
  return {
    ...view,
    targets: view.targets.map((t) => ({ ...t, name: s, lastFailure: s, agents: t.agents.map((a) => ({ ...a, name: s })) })),
    agents: view.agents.map((a) => ({ ...a, name: s, version: s })),
    incidents: view.incidents.map((i) => ({
      ...i,
      id: s,
      target: s,
      message: s,
      reason: s,
      events: i.events.map((e) => ({ ...e, text: s })),
      deliveries: i.deliveries.map((d) => ({ ...d, alertId: s, channel: s, error: s })),
    })),
    deadLetters: view.deadLetters.map((d) => ({ ...d, id: s, message: s, reasons: { [s]: s } })),
    silences: view.silences.map((x) => ({ ...x, id: s, target: s, comment: s })),
  };
}

/** The markup's shape: attribute values and text emptied. Changes when a string breaks out of its quotes or its element. */
const skeleton = (out: string): string => out.replace(/"[^"]*"/g, '""').replace(/>[^<]*</g, '><');
const count = (out: string, ch: string): number => out.split(ch).length - 1;
/** Every & starts one of the entities escapeHtml writes. */
const ampersandsOk = (out: string): boolean => !/&(?!amp;|lt;|gt;|quot;|#39;)/.test(out);

function assertSameShape(hostile: string, benign: string, s: string): void {
  assert.equal(skeleton(hostile), skeleton(benign));
  for (const ch of ['<', '>', '"', "'"]) assert.equal(count(hostile, ch), count(benign, ch), `count of ${ch}`);
  assert.ok(ampersandsOk(hostile), 'a bare & in the output');
  assert.ok(hostile.includes(escapeHtml(s)), 'the text is shown, escaped');
}

const NASTY = ['<', '>', '"', "'", '&', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='x", '</section>', '</li></ul>', '<!--', '-->', '&amp;', '&#x3c;', '\u0000', '\u0007', '\uD800', '\uDFFF', '\u2028', '\u0085', '`${x}`', 'javascript:', '\r\n', ']]>', '%', 'İ', '\uFFFF'];
const untrustedText = fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 6 })), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')).filter((s) => s.length > 0);

test('any untrusted string in every alert/report field, the filter and the token leaves the status page markup as a placeholder does', () => {
  const view = sampleStatusView(4, { incidents: [sampleIncident('a', { silenced: true }), sampleIncident('b', { state: 'closed', resolvedAt: new Date(SAMPLE_NOW).toISOString() })] });
  const benign = renderStatusPage(untrusted(view, 'x'), opts({ filter: 'x', csrf: 'x', perPage: 2 }));
  assert.match(benign, /rel="next"/, 'the pager (with the filter in its link) is on the page');
  fc.assert(
    fc.property(untrustedText, (s) => {
      const hostile = renderStatusPage(untrusted(view, s), opts({ filter: s, csrf: s, perPage: 2 }));
      assertSameShape(hostile, benign, s);
    }),
    { numRuns: 300 },
  );
});

test('the same holds for the incidents fragment, a target page and the login page', () => {
  const view = sampleStatusView(4);
  fc.assert(
    fc.property(untrustedText, (s) => {
      const [hv, bv] = [untrusted(view, s), untrusted(view, 'x')];
      assertSameShape(renderIncidentList(hv.incidents, SAMPLE_NOW, true), renderIncidentList(bv.incidents, SAMPLE_NOW, true), s);
      assertSameShape(renderTargetPage(hv.targets[0]!, hv.incidents, opts()), renderTargetPage(bv.targets[0]!, bv.incidents, opts()), s);
      assertSameShape(renderLoginPage({ error: s, next: s }), renderLoginPage({ error: 'x', next: 'x' }), s);
    }),
    { numRuns: 150 },
  );
});

test('escapeHtml: no markup character survives, and the text reads back (bad characters as U+FFFD)', () => {
  const decode = (t: string): string => t.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '');
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const out = escapeHtml(s);
      assert.doesNotMatch(out, /[<>"']/);
      assert.ok(ampersandsOk(out));
      assert.doesNotMatch(out, /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]/);
      assert.equal(decode(out), s.toWellFormed().replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]/g, '\uFFFD'));
    }),
  );
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('html``: interpolations escaped, SafeHtml and arrays placed as they are, null/undefined/false empty', () => {
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(html`<p title="${'"'}">${inner}${['<', html`<br>`]}${null}${undefined}${false}${0}${trusted('<hr>')}</p>`.markup, '<p title="&quot;"><b>&lt;i&gt;</b>&lt;<br>0<hr></p>');
});

function rows(out: string): Array<{ name: string; state: string; markup: string }> {
  const parts = out.split('<li class="target" ').slice(1);
  return parts.map((p) => {
    const m = /^data-target="([^"]*)" data-state="([^"]*)"/.exec(p);
    assert.ok(m, 'a target row starts with data-target and data-state');
    return { name: m[1]!, state: m[2]!, markup: `${p.split('</svg></div></li>')[0]!}</svg></div>` };
  });
}

test('targets: down first, perPage a page, page 2 the next rows, a page past the end is the last one', () => {
  const view = sampleStatusView(120);
  const p1 = rows(renderStatusPage(view, opts()));
  assert.equal(p1.length, 50);
  assert.deepEqual(p1.slice(0, 12).map((r) => r.state), new Array(12).fill('down'));
  assert.ok(p1.slice(12).every((r) => r.state !== 'down'));
  assert.deepEqual(p1.map((r) => r.name), view.targets.slice(0, 50).map((t) => t.name));
  const page2 = renderStatusPage(view, opts({ page: 2 }));
  assert.deepEqual(rows(page2).map((r) => r.name), view.targets.slice(50, 100).map((t) => t.name));
  assert.match(page2, /<a rel="prev" href="\?page=1">/);
  assert.match(page2, /<a rel="next" href="\?page=3">/);
  assert.match(page2, /Targets 51–100 of 120/);
  const last = renderStatusPage(view, opts({ page: 99 }));
  assert.deepEqual(rows(last).map((r) => r.name), view.targets.slice(100).map((t) => t.name));
  assert.doesNotMatch(last, /rel="next"/);
  assert.equal(pageTargets(view.targets, '', 1, 0).rows.length, 50, 'a bad perPage is the default');
});

test('targets: the filter is a case-insensitive substring of the name, kept in the form and the pager links, escaped', () => {
  const view = sampleStatusView(120);
  const out = renderStatusPage(view, opts({ filter: 'WEB-001' }));
  const found = rows(out);
  assert.deepEqual(found.map((r) => r.name), [3, 0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => `http://web-001${i}.example:80/`), 'web-0013 (down) first');
  assert.match(out, /<input id="filter" name="q" type="search" value="WEB-001"/);
  assert.match(out, /<form class="filter" method="get" role="search">/);
  const paged = renderStatusPage(view, opts({ filter: 'web', perPage: 10 }));
  assert.match(paged, /href="\?q=web&amp;page=2"/);
  const hostile = renderStatusPage(view, opts({ filter: '"><script>x' }));
  assert.match(hostile, /value="&quot;&gt;&lt;script&gt;x"/);
  assert.match(hostile, /No target matching “&quot;&gt;&lt;script&gt;x”, of 120\./);
  assert.equal(rows(hostile).length, 0);
  assert.deepEqual(readPageQuery(new URLSearchParams('q=a&page=3')), { filter: 'a', page: 3 });
  assert.deepEqual(readPageQuery(new URLSearchParams('page=-2')), { filter: '', page: 1 });
  assert.deepEqual(readPageQuery(new URLSearchParams('page=x')), { filter: '', page: 1 });
});

test('a target row: its 90 daily and 24 hourly bars in two SVG strips with text alternatives, two tab stops, state in text and class, link, agents, stats', () => {
  const out = renderStatusPage(sampleStatusView(4), opts());
  const row = rows(out).find((r) => r.name === 'http://web-0000.example:80/');
  assert.ok(row);
  const strips = [...row.markup.matchAll(/<div class="bars bars-(day|hour)" role="img" tabindex="0" aria-label="([^"]*)"( data-from="[^"]*")? data-bars="([^"]*)"><svg viewBox="0 0 (\d+) 1" preserveAspectRatio="none">((?:<path class="(?:b[0-4]|bnodata)" d="[^"]*"\/>)*)<\/svg><\/div>/g)];
  assert.deepEqual(strips.map((m) => m[1]), ['day', 'hour']);
  const [day, hour] = strips;
  assert.equal(day![5], '900');
  assert.equal(hour![5], '240');
  assert.match(out, /<ul class="targets" data-day-from="2026-09-02" data-hour-from="2026-11-29T13:00Z">/, 'the oldest day and hour first, once for the list');
  assert.deepEqual([day![3], hour![3]], [undefined, undefined], 'no strip starting with the list has its own data-from');
  const cells = decodeBars(day![4]!);
  assert.equal(cells.length, 90);
  assert.equal(decodeBars(hour![4]!).length, 24);
  const bars = sampleBars(90, 'day', SAMPLE_NOW, 0);
  assert.deepEqual(cells, bars.map((b) => ({ uptime: b.uptime, incidents: b.incidents })), 'each bar: its uptime and incidents read back');
  assert.match(day![2]!, /^Uptime per day, last 90 days, oldest first: \d+ at 99\.9 % or more, .*10 no data; \d+ incidents?\.$/);
  assert.match(hour![2]!, /^Uptime per hour, last 24 hours, oldest first: /);
  assert.equal(count(row.markup, 'tabindex="0"'), 2, 'a strip is one tab stop, a bar none');
  assert.equal(count(row.markup, '<span class="bar'), 0, 'no element a bar');
  assert.match(row.markup, /<a class="t-name" href="\/targets\/http%3A%2F%2Fweb-0000\.example%3A80%2F">/);
  assert.match(row.markup, /<div class="t-head"><a [^>]*>[^<]*<\/a> <span class="state st-up">up<\/span>/);
  assert.match(row.markup, /since <time datetime="2026-11-30T11:30:00\.000Z" title="2026-11-30 11:30:00 UTC" data-ago>1 h ago<\/time>/);
  assert.match(row.markup, /data-agent-name="agent-b" data-state="up"/, 'per-agent states with two agents');
  assert.match(row.markup, /<dl class="t-stats"><div><dt>24h<\/dt><dd>99\.95 %<\/dd><\/div>/, 'the uptimes first (the live script finds them so)');
  assert.match(row.markup, /p95<\/dt><dd>≤ 250 ms<\/dd>/);
  const single = rows(out).find((r) => r.name === 'http://web-0001.example:80/');
  assert.doesNotMatch(single!.markup, /data-agent-name/, 'no per-agent list with one agent');
  const down = rows(out).find((r) => r.state === 'down');
  assert.match(down!.markup, /Last failure: <span>connect ECONNREFUSED/);
});

test('the page: header counts, live indicator, no inline script, sections in order, "silenced" in text', () => {
  const view = sampleStatusView(20);
  view.targets[1] = { ...view.targets[1]!, silenced: true };
  const out = renderStatusPage(view, opts());
  assert.match(out, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(out, /<title>ch2 status<\/title>/);
  assert.match(out, /<strong data-count="down">2<\/strong> down/);
  assert.match(out, /<strong data-count="up">17<\/strong> up/);
  assert.match(out, /<strong data-count="unknown">1<\/strong> unknown/);
  assert.match(out, /<body data-live="static">/);
  assert.match(out, /<script src="\/static\/page\.js" defer><\/script>/);
  assert.equal(count(out, '<script'), 1);
  assert.doesNotMatch(out, /style=|https?:\/\/(?!web-)/, 'no style attribute, nothing from elsewhere');
  assert.equal(count(out, '<link'), 1);
  assert.ok(out.includes(`</section><link rel="stylesheet" href="${STATUS_REST_PATH}"><section id="incidents"`), 'the rest of the style linked after the targets, not before them');
  assert.match(STATUS_REST_PATH, /^\/assets\/status-[0-9a-f]{16}\.css$/);
  assert.equal(count(out, '<style'), 1);
  const style = /<style>([\s\S]*?)<\/style>/.exec(out)?.[1];
  assert.equal(style, STATUS_CSS, 'the one inline style is the stylesheet');
  assert.equal(STATUS_CSS_HASH, `sha256-${createHash('sha256').update(style).digest('base64')}`, 'whose hash the CSP allows');
  const order = ['id="targets"', 'id="incidents"', 'id="agents"', 'id="dead-letters"', 'id="silences"'].map((id) => out.indexOf(id));
  assert.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!)), `sections in order: ${order.join(', ')}`);
  assert.match(rows(out)[1]!.markup, /<span class="silenced">silenced<\/span>/);
  assert.match(out, /<li class="agent" data-agent="agent-b" data-state="silent"><span class="a-name">agent-b<\/span> <span class="state" data-field="state">silent<\/span>/);
  assert.match(out, /<li class="dead" data-dead-letter="alert-0042">.*<dt>slack<\/dt><dd>HTTP 404 no_service<\/dd>/);
  assert.match(out, /<code>http:\/\/web-001\*<\/code> until <time datetime="2026-11-30T13:30:00\.000Z">2026-11-30 13:30:00 UTC<\/time> \(1h 00m left\)\. <span class="s-comment">maintenance window/);
});

test('the silence forms only with a CSRF token: POST /silences (target, for, comment, csrf), POST /silences/<id>/delete', () => {
  const view = sampleStatusView(2);
  assert.doesNotMatch(renderStatusPage(view, opts({ csrf: undefined })), /<form[^>]*action="\/silences"|name="csrf"/);
  const out = renderStatusPage(view, opts({ csrf: 'a"b' }));
  assert.match(out, /<form class="silence-form" method="post" action="\/silences">/);
  assert.match(out, /<input type="hidden" name="csrf" value="a&quot;b">/);
  assert.match(out, /<form class="s-remove" method="post" action="\/silences\/sil-1\/delete"><input type="hidden" name="csrf" value="a&quot;b"><button type="submit" aria-label="Remove the silence on http:\/\/web-001\*">Remove<\/button><\/form>/);
  for (const field of ['target', 'for', 'comment']) assert.match(out, new RegExp(`<label for="s-${field}">[^<]+</label><input id="s-${field}" name="${field}"`));
});

test('the incidents fragment: the live list (what the event stream sends), open first, timeline and deliveries with channel and outcome', () => {
  const closed = sampleIncident('c1', { state: 'closed', resolvedAt: new Date(SAMPLE_NOW - 60_000).toISOString(), lengthMs: 125 * 60_000 });
  const open = sampleIncident('o1', { silenced: true });
  const out = renderIncidentList([closed, open], SAMPLE_NOW, false);
  assert.match(out, /^<div id="incident-list"><p class="i-count">1 open, 1 closed shown\. Older ones: on each target's page, and <a href="\/api\/v1\/incidents\?state=closed&amp;limit=1000">all as JSON<\/a>\.<\/p>/);
  assert.ok(out.endsWith('</ol></div>'));
  const ids = [...out.matchAll(/data-incident="([^"]*)" data-state="([^"]*)"/g)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(ids, ['o1:open', 'c1:closed']);
  assert.match(out, /<span class="state">open<\/span> <span class="silenced">silenced<\/span>/);
  assert.match(out, /<details class="timeline" open><summary>Timeline \(3 events\)<\/summary>/);
  assert.match(out, /<li data-delivery data-channel="smtp" data-outcome="retrying"><span class="ch">smtp<\/span>: <span class="outcome">retrying<\/span>, 3 attempts,.*, last error: <span class="err">connect ECONNREFUSED 10\.0\.0\.9:25<\/span>/);
  assert.match(out, /<li data-delivery data-channel="log" data-outcome="sent">/);
  assert.match(out, /Opened <time datetime="[^"]+">[^<]+ UTC<\/time>, down for 7m 00s so far/);
  assert.match(out, /after 2h 05m\./);
  assert.match(renderIncidentList([], SAMPLE_NOW, true), /^<div id="incident-list"><p class="note">No incidents\.<\/p><\/div>$/);
});

test('closing by hand: one form with the CSRF token and a comment, a Close button on each open incident, in the page and in the live list alike, only for a reader who may write', () => {
  const incidents = [sampleIncident('o1', { target: 'web "1"' }), sampleIncident('o/2'), sampleIncident('c1', { state: 'closed', resolvedAt: new Date(SAMPLE_NOW).toISOString() })];
  const button = (id: string, target: string): string => `<button class="i-close" form="i-close" formaction="/incidents/${encodeURIComponent(id)}/close" aria-label="Close the incident on ${target} by hand">Close</button>`;
  const live = renderIncidentList(incidents, SAMPLE_NOW, true);
  assert.equal(count(live, '<button'), 2, 'a button on each open incident, none on the closed one');
  assert.ok(live.includes(button('o1', 'web &quot;1&quot;')), live);
  assert.ok(live.includes(button('o/2', sampleIncident('x').target)), 'the id percent-encoded in the path');
  assert.doesNotMatch(live, /<form|csrf/, 'the live list carries no form and no CSRF token: one render serves every writer');
  assert.doesNotMatch(renderIncidentList(incidents, SAMPLE_NOW, false), /<button|<form/, 'none for a reader who may not write');

  const view = sampleStatusView(3, { incidents });
  const page = renderStatusPage(view, opts({ csrf: 'a"b' }));
  const section = /<section id="incidents"[\s\S]*?<\/section>/.exec(page)![0];
  assert.equal(count(section, '<form'), 1, 'one form for the section');
  assert.match(section, /^<section id="incidents" aria-labelledby="incidents-h"><h2 id="incidents-h">Incidents<\/h2><form id="i-close" class="i-close-form" method="post"><input type="hidden" name="csrf" value="a&quot;b"><label for="i-comment">[^<]+<\/label> <textarea id="i-comment" name="comment" maxlength="200" rows="1"><\/textarea><\/form><div id="incident-list">/);
  assert.ok(section.includes(live), 'the page shows the live list as the stream sends it');
  const readOnly = renderStatusPage(view, opts({ csrf: undefined }));
  assert.doesNotMatch(readOnly, /<button[^>]*(i-close|a-forget)|id="i-close"|id="a-forget"|name="csrf"/, 'no form and no button without a CSRF token');
  assert.ok(readOnly.includes(renderIncidentList(incidents, SAMPLE_NOW, false)));
  // The agents' Forget buttons likewise: one form with the token.
  assert.equal(count(page, '<form id="a-forget" method="post"><input type="hidden" name="csrf" value="a&quot;b"></form>'), 1);
  assert.match(page, /<button class="a-forget" form="a-forget" formaction="\/agents\/agent-a\/forget" aria-label="Forget agent agent-a">Forget<\/button>/);
});

test("a target's page: its name, state, bars, stats and incidents, not the status page's #incidents", () => {
  const target = sampleTarget('http://api.example/<x>', { state: 'down', silenced: true, agents: [{ name: 'agent-a', state: 'down' }] });
  const incidents: IncidentView[] = [sampleIncident('i1', { target: target.name })];
  const out = renderTargetPage(target, incidents, opts());
  assert.match(out, /<title>http:\/\/api\.example\/&lt;x&gt; · ch2 status<\/title>/);
  assert.match(out, /<article class="target target-page" data-target="http:\/\/api\.example\/&lt;x&gt;" data-state="down" data-day-from="\d{4}-\d\d-\d\d" data-hour-from="[^"]+Z">/);
  assert.match(out, /<h1 class="t-name">http:\/\/api\.example\/&lt;x&gt;<\/h1> <span class="state st-down">down<\/span> <span class="silenced">silenced<\/span>/);
  assert.match(out, /data-agent-name="agent-a" data-state="down"/, 'its agents even when one');
  assert.equal(count(out, 'role="img"'), 2, 'two bar strips');
  assert.match(out, /<section id="target-incidents"/);
  assert.doesNotMatch(out, /id="incidents"/);
  assert.match(out, /data-incident="i1"/);
  assert.match(out, /<a href="\/">← ch2 status<\/a>/);
  assert.doesNotMatch(out, /Certificate expires/, 'no line without a certificate');
  const https = renderTargetPage({ ...target, certExpiresAt: '2026-12-10T08:00:00.000Z' }, incidents, opts());
  assert.match(https, /<p class="t-cert">Certificate expires <time datetime="2026-12-10T08:00:00.000Z">2026-12-10 08:00:00 UTC<\/time><\/p>/);
});

test('the login page: POST /login, a password field named token, next hidden, the error escaped, no script', () => {
  const out = renderLoginPage({ error: 'Wrong <token>', next: '/targets/a"b' });
  assert.match(out, /<form method="post" action="\/login">/);
  assert.match(out, /<input type="hidden" name="next" value="\/targets\/a&quot;b">/);
  assert.match(out, /<label for="token">Token<\/label><input id="token" name="token" type="password" required/);
  assert.match(out, /<p class="error" role="alert">Wrong &lt;token&gt;<\/p>/);
  assert.doesNotMatch(out, /<script/);
  assert.doesNotMatch(renderLoginPage({ next: '/' }), /role="alert"/);
});

test('format: uptime never rounds up to 100 %, levels, lengths, relative times, response bounds, UTC labels', () => {
  assert.deepEqual([1, 0.99999, 0.9995, 0.5, 0, null, Number.NaN].map(formatUptime), ['100 %', '99.99 %', '99.95 %', '50.00 %', '0 %', 'no data', 'no data']);
  assert.deepEqual([1, 0.999, 0.9989, 0.99, 0.95, 0.8, 0.79, null].map(uptimeLevel), ['b4', 'b4', 'b3', 'b3', 'b2', 'b1', 'b0', 'bnodata']);
  assert.equal(formatElapsed(125 * 60_000), '2h 05m', 'the alert texts’ form (formatElapsed)');
  assert.deepEqual([-5, 59_999, 3 * 60_000, 125 * 60_000, 2 * 3_600_000, 76 * 3_600_000, 48 * 3_600_000].map(formatAgo), ['just now', 'just now', '3 min ago', '2 h 5 min ago', '2 h ago', '3 d 4 h ago', '2 d ago']);
  assert.equal(LAST_BUCKET_MS, LATENCY_BUCKETS_MS.at(-1));
  assert.deepEqual([250, 10_000, 10_001, Infinity, null].map(formatResponse), ['≤ 250 ms', '≤ 10000 ms', '> 10000 ms', '> 10000 ms', 'no data']);
  assert.equal(utcHour('2026-11-30T14:00:00.000Z'), '2026-11-30 14:00 UTC');
  assert.equal(barLabel({ start: '2026-11-30T00:00:00.000Z', checks: 10_000, failures: 5, uptime: 0.9995, incidents: 1 }, 'day'), '2026-11-30: 99.95 % up, 1 incident');
  assert.equal(barLabel({ start: '2026-11-30T14:00:00.000Z', checks: 0, failures: 0, uptime: null, incidents: 0 }, 'hour'), '2026-11-30 14:00 UTC: no data');
});

test('5,000 targets render one page of 50, quickly', () => {
  const view = sampleStatusView(5000);
  const started = performance.now();
  const out = renderStatusPage(view, opts());
  const ms = performance.now() - started;
  assert.equal(rows(out).length, 50);
  assert.ok(out.length < 1_000_000, `${out.length} bytes`);
  assert.ok(ms < 500, `${ms.toFixed(0)} ms`);
});

/** Elements opened in some markup. */
const elements = (markup: string): number => (markup.match(/<[a-zA-Z]/g) ?? []).length;

test('a light page: at 1,000 targets GET / is at most 100 KB, and a row is a bounded number of elements, whatever its bars', () => {
  const view = sampleStatusView(1000);
  const out = renderStatusPage(view, opts());
  assert.ok(Buffer.byteLength(out) <= 100_000, `${Buffer.byteLength(out)} bytes`);
  const found = rows(out);
  assert.equal(found.length, 50);
  // The worst bars for the markup: every bar a level other than its neighbours'.
  const levels = [null, 0.5, 0.9, 0.97, 0.995, 1];
  const worst = (bars: typeof view.targets[number]['daily']) => bars.map((b, i) => ({ ...b, checks: 1000, failures: Math.round((1 - (levels[i % 6] ?? 1)) * 1000), uptime: levels[i % 6] ?? 1, incidents: i % 2 }));
  const busy = { ...view, targets: view.targets.map((t) => ({ ...t, daily: worst(t.daily), hourly: worst(t.hourly) })) };
  const busyOut = renderStatusPage(busy, opts());
  for (const r of [...found, ...rows(busyOut)]) assert.ok(elements(r.markup) <= 40, `${r.name}: ${elements(r.markup)} elements`);
  assert.ok(Buffer.byteLength(busyOut) <= 200_000, `the worst bars: ${Buffer.byteLength(busyOut)} bytes`);
});

test('bar-strip: tokens read back, runs per level, a strip moved on by a live figure', () => {
  const bars = [
    { start: '', checks: 0, failures: 0, uptime: null, incidents: 0 },
    { start: '', checks: 8640, failures: 0, uptime: 1, incidents: 0 },
    { start: '', checks: 8640, failures: 0, uptime: 1, incidents: 2 },
    { start: '', checks: 360, failures: 9, uptime: 1 - 9 / 360, incidents: 1 },
  ];
  assert.equal(encodeBars(bars), '-  !2 9/360!1');
  assert.equal(encodeBars([...bars, bars[3]!, bars[3]!, bars[1]!]), '-  !2 9/360!1*3 ');
  assert.equal(encodeBars([bars[0]!, bars[0]!, bars[1]!, bars[1]!, bars[1]!]), '-*2 *3', 'runs as token*N');
  assert.deepEqual(expandTokens('-*2 *3 1/5'), ['-', '-', '', '', '', '1/5']);
  assert.deepEqual(decodeBars(encodeBars(bars)), bars.map((b) => ({ uptime: b.uptime, incidents: b.incidents })));
  assert.deepEqual(barPaths(['bnodata', 'b4', 'b4', 'b2']), [['b4', 'M0 .5h40'], ['bnodata', 'M0 .5h10'], ['b2', 'M30 .5h10']], 'the commonest level under the others');
  const H = 3_600_000;
  assert.deepEqual(shiftCells(['a', 'b', 'c'], 0, H, 2 * H + 5, 'C'), { tokens: ['a', 'b', 'C'], from: 0 }, 'the last bar replaced');
  assert.deepEqual(shiftCells(['a', 'b', 'c'], 0, H, 3 * H, 'd'), { tokens: ['b', 'c', 'd'], from: H }, 'a new hour');
  assert.deepEqual(shiftCells(['a', 'b', 'c'], 0, H, 4 * H, 'e'), { tokens: ['c', '-', 'e'], from: 2 * H }, 'an hour nobody reported');
  assert.deepEqual(shiftCells(['a', 'b', 'c'], 0, H, 40 * H, 'z'), { tokens: ['-', '-', 'z'], from: 38 * H });
  assert.equal(shiftCells(['a', 'b', 'c'], 0, H, H, 'old'), undefined, 'an older figure is ignored');
  assert.equal(stateClass('stale'), 'st-stale');
  assert.equal(stateClass('"x y<'), 'st-xy');
});
