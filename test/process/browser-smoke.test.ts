/**
 * The browser-test helpers (test/support/browser.ts) on Debian's chromium against a
 * tiny node:http server on loopback: a page loads, console.error and an uncaught
 * error are recorded, axe-core reports a critical violation on a bad page and none
 * on a clean one (served with a strict Content-Security-Policy), a screenshot is written, and a request to a non-local address is
 * refused by the guard (never leaves the browser).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stat } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { checkA11y, formatViolations, isLocalUrl, launchBrowser, newPage, screenshot, type Browser } from '../support/browser.ts';

const PAGES: Record<string, string> = {
  '/clean': '<!doctype html><html lang="en"><head><title>clean</title></head><body><main><h1>Fine</h1><p>Nothing wrong here.</p></main></body></html>',
  '/noisy':
    '<!doctype html><html lang="en"><head><title>noisy</title></head><body><main><h1>Noisy</h1></main>' +
    '<script>console.error("boom from the page");' +
    'fetch("http://192.0.2.1/leak").catch(() => { document.body.dataset.refused = "yes"; setTimeout(() => { throw new Error("uncaught kaboom"); }, 0); });</script></body></html>',
  // An image without alt text and an unnamed button: both critical for axe.
  '/bad': '<!doctype html><html lang="en"><head><title>bad</title></head><body><main><h1>Bad</h1><img src="/clean"><button></button></main></body></html>',
};

const server = createServer((req, res) => {
  const body = PAGES[req.url ?? ''];
  if (body === undefined) return void res.writeHead(404).end();
  // /clean has the status page's strict policy: axe must still get in, without a CSP error.
  const csp = req.url === '/clean' ? { 'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'" } : {};
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...csp }).end(body);
});
let base = '';
let browser: Browser;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server.close(resolve));
});

test('a clean page under a strict CSP loads with no errors and no serious a11y violations; a screenshot is written', async () => {
  const { page, errors, blocked, close } = await newPage(browser, { colorScheme: 'dark', viewport: { width: 375, height: 812 } });
  try {
    await page.goto(`${base}/clean`);
    assert.equal(await page.textContent('h1'), 'Fine');
    const violations = await checkA11y(page);
    assert.deepEqual(violations, [], formatViolations(violations));
    const file = await screenshot(page, 'browser-smoke');
    assert.ok((await stat(file)).size > 100);
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close();
  }
});

test('console.error and an uncaught error are recorded; a request to a non-local address is refused inside the browser', async () => {
  const { page, errors, blocked, close } = await newPage(browser);
  try {
    const uncaught = page.waitForEvent('pageerror', { timeout: 2_000 });
    await page.goto(`${base}/noisy`);
    await uncaught;
    // The refused request is itself a console error: a page that needs the outside fails its test.
    assert.deepEqual(errors, ['console.error: boom from the page', 'console.error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT.Inspector', 'pageerror: uncaught kaboom']);
    assert.equal(await page.getAttribute('body', 'data-refused'), 'yes');
    assert.deepEqual(blocked, ['http://192.0.2.1/leak']);
  } finally {
    await close();
  }
});

test('checkA11y reports critical violations with their targets', async () => {
  const { page, close } = await newPage(browser);
  try {
    await page.goto(`${base}/bad`);
    const violations = await checkA11y(page);
    const ids = violations.map((v) => v.id).sort();
    assert.deepEqual(ids, ['button-name', 'image-alt'], formatViolations(violations));
    assert.ok(violations.every((v) => v.impact === 'critical' && v.targets.length > 0 && v.help.length > 0));
    assert.deepEqual(violations.find((v) => v.id === 'image-alt')?.targets, ['img']);
  } finally {
    await close();
  }
});

test('isLocalUrl: loopback, docker bridges and data: only', () => {
  for (const url of ['http://127.0.0.1:1/', 'http://172.18.0.5:33333/', 'http://10.1.2.3/', 'http://192.168.1.1/', 'http://localhost:1/', 'http://[::1]:8/', 'data:text/html,x', 'about:blank']) {
    assert.ok(isLocalUrl(url), url);
  }
  for (const url of ['http://8.8.8.8/', 'https://example.com/', 'http://172.32.0.1/', 'http://192.0.2.1/', 'ftp://127.0.0.1/', 'http://127.0.0.1.nip.io/', 'not a url']) {
    assert.ok(!isLocalUrl(url), url);
  }
});
