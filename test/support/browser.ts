/**
 * A real browser for the tests: Debian's chromium (/usr/bin/chromium, installed by
 * scripts/chromium.sh) driven by playwright-core. Nothing is ever downloaded
 * (`npx playwright install` is not used): background networking, component
 * updates, sync and default apps are off, and every page refuses requests to
 * anything but data:/about: URLs and loopback or private (docker bridge) addresses,
 * so the browser only ever talks to the test's own servers and containers.
 *
 *   launchBrowser()                      chromium, headless
 *   newPage(browser, opts)               a page in a fresh context; console and page errors recorded
 *   checkA11y(page)                      axe-core's serious and critical violations (also under a strict CSP)
 *   screenshot(page, name)               test/artifacts/<name>.png (ignored by git)
 */
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export type { Browser, Page };

export const CHROMIUM = '/usr/bin/chromium';

/** test/artifacts/, where screenshot() writes. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-default-apps', '--disable-sync'],
  });
}

export interface PageOptions {
  colorScheme?: 'light' | 'dark';
  viewport?: { width: number; height: number };
  httpCredentials?: { username: string; password: string };
  /**
   * Route every request through the local-only guard (default true). Off only for the page bench
   * (bench/hub.ts): the guard answers each request from this process over the DevTools protocol,
   * a cost of the harness that no reader's browser has; the page's CSP still keeps it to its origin.
   */
  guard?: boolean;
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors ("console.error: …") and uncaught page errors ("pageerror: …"), in order. */
  errors: string[];
  /** Requests the guard refused (not loopback, private or data:). */
  blocked: string[];
  /** Every answer to the page's event stream (GET /api/v1/events): status and ms since the page was opened. */
  streams: string[];
  close(): Promise<void>;
}

/** Loopback, RFC 1918 (docker bridges) and link-local hosts; data:, about: and blob: URLs. */
export function isLocalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'about:' || u.protocol === 'blob:') return true;
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'ws:' && u.protocol !== 'wss:') return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

export async function newPage(browser: Browser, opts: PageOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({
    colorScheme: opts.colorScheme ?? 'light',
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
    ...(opts.httpCredentials ? { httpCredentials: opts.httpCredentials } : {}),
    serviceWorkers: 'block',
  });
  const errors: string[] = [];
  const blocked: string[] = [];
  if (opts.guard !== false) await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocalUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  // Which request a "Failed to load resource" line was (the console line names none); refused outside requests are in `blocked`.
  page.on('requestfailed', (request) => {
    const why = request.failure()?.errorText ?? '?';
    if (!why.startsWith('net::ERR_BLOCKED_BY_CLIENT') && why !== 'net::ERR_ABORTED') errors.push(`requestfailed: ${request.method()} ${request.url()} ${why}`);
  });
  const streams: string[] = [];
  const opened = Date.now();
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/api/v1/events') streams.push(`${response.status()} at ${Date.now() - opened} ms`);
  });
  page.on('requestfailed', (request) => {
    if (new URL(request.url()).pathname === '/api/v1/events') streams.push(`failed (${request.failure()?.errorText ?? '?'}) at ${Date.now() - opened} ms`);
  });
  return { page, context, errors, blocked, streams, close: () => context.close() };
}

export interface A11yViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

let axeSource: string | undefined;

/** axe-core's serious and critical violations of the page as it is now. */
export async function checkA11y(page: Page): Promise<A11yViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const present = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  // Not page.addScriptTag({content}): a page with a strict Content-Security-Policy
  // (script-src 'self', as the status page has) refuses an inline script, and
  // bypassCSP would hide the CSP violations the tests must see. An evaluation
  // through the DevTools protocol is not subject to the page's CSP.
  if (!present) await page.evaluate(axeSource);
  const all = await page.evaluate(async () => {
    type Result = { violations: { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] }[] };
    const axe = (globalThis as unknown as { axe: { run: () => Promise<Result> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(' ')) }));
  });
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** One line per violation, for an assertion message. */
export function formatViolations(violations: readonly A11yViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.targets.join(', ')}`).join('\n');
}

/**
 * `fn(arg)` evaluated in the page until it gives a truthy value, which is
 * returned. Polled from the test's side (page.evaluate goes over the DevTools
 * protocol): page.waitForFunction polls by compiling its predicate in the
 * page, which a page whose CSP has no 'unsafe-eval' (the status page) refuses
 * whenever the first try is false, so it times out. Fails after `timeoutMs`.
 */
export async function waitInPage<A, R>(page: Page, fn: (arg: A) => R, arg: A, timeoutMs: number): Promise<NonNullable<R>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = (await page.evaluate(fn as never, arg)) as R;
    if (value) return value as NonNullable<R>;
    if (Date.now() > deadline) assert.fail(`the page did not show it within ${timeoutMs} ms: ${fn.toString().slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until the page's event stream is open (body[data-live="connected"]); when it is not within
 * `timeoutMs`, fails with what the page showed, every answer its event stream had and its errors.
 */
export async function waitLive(opened: OpenedPage, timeoutMs: number): Promise<void> {
  try {
    await opened.page.waitForSelector('body[data-live="connected"]', { timeout: timeoutMs });
  } catch (err) {
    const live = await opened.page.evaluate(() => (globalThis as unknown as { document: { body: { dataset: { live?: string } } } }).document.body.dataset.live).catch(() => '?');
    assert.fail(`the page's event stream was not open within ${timeoutMs} ms: data-live=${String(live)}; event stream answers: ${opened.streams.join(', ') || 'none'}; errors: ${opened.errors.join('; ') || 'none'} (${(err as Error).message.split('\n')[0]})`);
  }
}

/** No console or page errors, no request refused by the local-only guard. */
export function assertClean(opened: OpenedPage, what: string): void {
  assert.deepEqual(opened.errors, [], `${what}: console or page errors`);
  assert.deepEqual(opened.blocked, [], `${what}: requests to non-local addresses`);
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function assertAccessible(opened: OpenedPage, what: string): Promise<void> {
  const violations = await checkA11y(opened.page);
  assert.deepEqual(violations, [], `${what}: axe-core serious/critical violations:\n${formatViolations(violations)}`);
}

/** Save a full-page PNG to test/artifacts/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
