/**
 * The status page of the mailer bundle in a real browser (Debian's chromium,
 * test/support/browser.ts): a target's bar strips and uptimes follow the
 * agents' reports live, from the event stream (`figures`), without a reload;
 * the page has no console error and no serious or critical axe-core
 * violation under its strict CSP, before and after.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LATENCY_BUCKETS_MS } from '../../shared/wire-report.ts';
import { checkA11y, formatViolations, launchBrowser, newPage, waitInPage, waitLive, type Browser, type Page } from '../support/browser.ts';
import { type Running, startMailer } from '../support/process.ts';

const TARGET = 'http://web/';
/** How long a report may take to show on an open page. */
const LIVE_MS = 3_000;
let mailer: Running;
let browser: Browser;
let base = '';

before(async () => {
  mailer = await startMailer();
  base = `http://127.0.0.1:${(mailer as Running & { port: number }).port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await mailer?.stop();
});

async function report(checks: number, failures: number): Promise<void> {
  const body = {
    v: 1,
    agent: { name: 'live-a', instance: 'inst-live-a-0001', version: '0.1.0' },
    sentAt: new Date().toISOString(),
    intervalMs: 1000,
    targets: [{ name: TARGET, state: 'up', checks, failures, latency: [checks, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)] }],
  };
  const res = await fetch(`${base}/api/v1/reports`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 202, await res.text());
}

/** In the page (strings: the project's lib has no DOM types): the row's 24h uptime, each strip's last token, paths and label. */
const READ_ROW = `(() => {
  const row = [...document.querySelectorAll('li[data-target]')].find((r) => r.dataset.target === ${JSON.stringify(TARGET)});
  if (!row) return undefined;
  const strip = (unit) => {
    const s = row.querySelector('.bars-' + unit);
    // data-bars: one token a bar, a run of N equal ones "token*N" (bar-strip.ts)
    const tokens = (s.dataset.bars || '').split(' ').flatMap((p) => { const i = p.lastIndexOf('*'); return i < 0 ? [p] : new Array(Number(p.slice(i + 1))).fill(p.slice(0, i)); });
    return { count: tokens.length, last: tokens[tokens.length - 1], levels: [...s.querySelectorAll('path')].map((p) => p.getAttribute('class')), label: s.getAttribute('aria-label') };
  };
  return { uptime24h: row.querySelector('.t-stats dd').textContent, day: strip('day'), hour: strip('hour'), same: window.__same === 1 };
})()`;

interface RowRead {
  uptime24h: string;
  day: { count: number; last: string; levels: string[]; label: string };
  hour: { count: number; last: string; levels: string[]; label: string };
  same: boolean;
}

/**
 * The row once `ok` holds, read from the test's side (page.evaluate runs over
 * the DevTools protocol): page.waitForFunction's string predicate is compiled
 * in the page, which the page's CSP (no 'unsafe-eval') refuses when the first
 * try is false. Fails with the last read after `timeoutMs`.
 */
async function rowWhen(page: Page, ok: (r: RowRead | undefined) => boolean, timeoutMs: number): Promise<RowRead> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await page.evaluate(READ_ROW)) as RowRead | undefined;
    if (ok(row)) return row!;
    if (Date.now() > deadline) assert.fail(`the row did not change within ${timeoutMs} ms: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('after a report, the row’s bars and uptimes change live from the event stream, without a reload; no errors, no serious a11y violations', { timeout: 30_000 }, async () => {
  await report(10, 0);
  const { page, errors, close } = await newPage(browser);
  try {
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-live="connected"]', { timeout: LIVE_MS });
    await page.evaluate('window.__same = 1');
    const first = (await page.evaluate(READ_ROW)) as RowRead;
    assert.equal(first.uptime24h, '100 %');
    assert.deepEqual([first.day.count, first.hour.count], [90, 24], '90 daily and 24 hourly bars');
    assert.deepEqual([first.day.last, first.hour.last], ['', ''], 'all checks passed in this hour and day');
    assert.deepEqual(first.hour.levels, ['bnodata', 'b4']);
    const violations = await checkA11y(page);
    assert.deepEqual(violations, [], formatViolations(violations));

    await report(10, 10);
    const next = await rowWhen(page, (r) => r?.uptime24h === '50.00 %', LIVE_MS);
    assert.ok(next.same, 'the same document: no reload');
    assert.deepEqual([next.day.last, next.hour.last], ['10/20', '10/20'], 'the current day and hour carry the report');
    assert.deepEqual(next.hour.levels, ['bnodata', 'b0'], 'the current hour drawn red');
    assert.match(next.hour.label, /1 under 80 %/);
    assert.notEqual(next.hour.label, first.hour.label);
    assert.deepEqual([next.day.count, next.hour.count], [90, 24]);
    const again = await checkA11y(page);
    assert.deepEqual(again, [], formatViolations(again));
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a page whose event stream is refused once (503, the mailer at its streams cap) is live again within 2 s and a moment, not 30 s', { timeout: 30_000 }, async () => {
  const opened = await newPage(browser);
  try {
    let refused = 0;
    await opened.page.route('**/api/v1/events', (route) => {
      if (refused++ === 0) return route.fulfill({ status: 503, contentType: 'application/json', headers: { 'retry-after': '10' }, body: '{"error":"at most 1 event streams at once"}' });
      return route.continue();
    });
    await opened.page.goto(`${base}/`);
    await waitInPage(opened.page, () => (globalThis as unknown as { document: { body: { dataset: { live?: string } } } }).document.body.dataset.live === 'offline' || undefined, undefined, LIVE_MS);
    const since = Date.now();
    // The first retry is 2 s after the refusal; 1.5 s more is the slack a loaded machine needs.
    await waitLive(opened, 3_500);
    assert.equal(refused, 2, 'one refused stream, then one that opened');
    assert.ok(Date.now() - since >= 1_500, 'not before the first retry is due');
  } finally {
    await opened.close();
  }
});
