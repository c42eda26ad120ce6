/**
 * The mailer's status page (GET /) in a real browser (Debian's chromium through
 * test/support/browser.ts), on the images: three nginx (web1, web2, web3), one
 * mailer, agent-a watching all three and agent-b watching web1, both reporting
 * every second. The page lists the targets with their 90 daily and 24 hourly
 * bars and both agents; `docker stop` of web2 turns its row down without a
 * reload and opens an incident whose delivery through the log channel is sent;
 * light, dark and phone screenshots go to test/artifacts/; no console or page
 * errors; no serious or critical axe-core violations in light and dark.
 * A second mailer with --token: the page, /api/v1/status and /api/v1/events are
 * 401 without it and 200 with HTTP Basic; a hostile alert message shows as text,
 * live and after a reload, and runs nothing. With --public-status reading is open
 * and writing is not; --status-page off serves none of the page's paths.
 *
 * The page's markup contract: rows [data-target][data-state=up|down|unknown|stale] with
 * two .bars strips (one SVG each, every bar's figures in data-bars); [data-incident][data-state=open|closed] holding
 * [data-delivery][data-channel][data-outcome]; [data-agent][data-state];
 * <body data-live="connected"> once its EventSource is open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible as accessible, assertClean as clean, launchBrowser, waitInPage, waitLive, newPage, screenshot, type Browser, type OpenedPage, type PageOptions } from '../support/browser.ts';
import { Cleanup, dockerOk, type Started, startAgent, startMailer, startNetwork, startNginx, Wait } from './helpers.ts';

const TOKEN = 'status-page-token-0123456789';
const WEB = { web1: 'http://web1:80/', web2: 'http://web2:80/', web3: 'http://web3:80/' } as const;
const AGENTS = ['agent-a', 'agent-b'] as const;
const BARS = 90 + 24;
/** How long the page may take to show a change the mailer knows of (reports come every second). */
const LIVE_MS = 5_000;
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>';

/** The DOM, as far as the functions run in the page use it (the project's lib has no DOM types). */
interface El {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  textContent: string | null;
}
interface Doc {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  body: El & { innerText: string };
}
type Win = { document: Doc; __pwned?: unknown; __sameDocument?: string };

/** A target's row (incidents and deliveries may carry data-target too). */
const rowOf = (name: string): string => `[data-target="${name}"]:not([data-incident]):not([data-delivery])`;
const basic = (password: string): string => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('status page in a browser, on the images', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  let browser: Browser;
  let base: string;
  let web2: Started;
  let tokenBase: string;
  let publicBase: string;
  let offBase: string;

  const open = async (url: string, opts: PageOptions = {}): Promise<OpenedPage> => {
    const opened = await newPage(browser, opts);
    cleanup.defer('close a page', () => opened.close());
    await opened.page.goto(url);
    await waitLive(opened, LIVE_MS);
    return opened;
  };

  /** GET base+path: its status and content type; the body is dropped (the event stream never ends). */
  const get = async (at: string, path: string, authorization?: string): Promise<{ status: number; type: string }> => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    try {
      const res = await fetch(`${at}${path}`, { signal: ac.signal, ...(authorization ? { headers: { authorization } } : {}) });
      return { status: res.status, type: res.headers.get('content-type') ?? '' };
    } finally {
      ac.abort();
      clearTimeout(timer);
    }
  };
  const post = async (at: string, path: string, body: unknown, authorization?: string): Promise<number> => {
    const res = await fetch(`${at}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  };

  before(async () => {
    const t0 = Date.now();
    browser = await launchBrowser();
    cleanup.defer('close the browser', () => browser.close());
    const net = await startNetwork(cleanup);
    const webs = await Promise.all(Object.keys(WEB).map((alias) => startNginx(net, cleanup, alias)));
    web2 = webs[1]!;
    const mailer = await startMailer(net, cleanup);
    base = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    const report = ['--report-every', '1s'];
    await Promise.all([
      startAgent(net, cleanup, {
        args: [...report, '--agent-name', 'agent-a', '--target', WEB.web1, '--target', WEB.web2, '--target', WEB.web3],
        wait: Wait.forLogMessage(/Watching 3 targets; alerts go to insidemailer:33333 \(json\)\./),
      }),
      startAgent(net, cleanup, { args: [...report, '--agent-name', 'agent-b', '--target', WEB.web1] }),
    ]);
    const tokenMailer = await startMailer(net, cleanup, { aliases: ['tokenmailer'], args: ['--token', TOKEN] });
    tokenBase = `http://${tokenMailer.container.getHost()}:${tokenMailer.container.getMappedPort(33333)}`;
    const [publicMailer, offMailer] = await Promise.all([
      startMailer(net, cleanup, { aliases: ['publicmailer'], args: ['--token', TOKEN, '--public-status'] }),
      startMailer(net, cleanup, { aliases: ['offmailer'], args: ['--status-page', 'off'] }),
    ]);
    publicBase = `http://${publicMailer.container.getHost()}:${publicMailer.container.getMappedPort(33333)}`;
    offBase = `http://${offMailer.container.getHost()}:${offMailer.container.getMappedPort(33333)}`;
    console.log(`  setup: ${Date.now() - t0} ms`);
  }, { timeout: 120_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  let light: OpenedPage;

  test('the page lists every target with its bars and both agents, live', { timeout: 30_000 }, async () => {
    const t0 = Date.now();
    light = await open(`${base}/`);
    const { page } = light;
    // The agents' first reports may land after the first render: the live script adds them.
    for (const name of Object.values(WEB)) {
      await page.waitForSelector(`${rowOf(name)}[data-state="up"]`, { timeout: 15_000 });
      assert.equal(await page.locator(rowOf(name)).count(), 1, `one row for ${name}`);
      const bars = await page.locator(`${rowOf(name)} .bars`).evaluateAll((strips) => strips.map((s) => (s.getAttribute('data-bars') ?? '').split(' ').reduce((n: number, p: string) => n + (p.includes('*') ? Number(p.slice(p.lastIndexOf('*') + 1)) : 1), 0)));
      assert.equal(bars.reduce((a, b) => a + b, 0), BARS, `${name}: 90 daily and 24 hourly bars, in two strips (${bars.join(' + ')})`);
    }
    for (const name of AGENTS) await page.waitForSelector(`[data-agent="${name}"][data-state="reporting"]`, { timeout: 15_000 });
    assert.equal(await page.locator('#filter').count(), 1, 'the filter input');
    clean(light, 'light page');
    console.log(`  page listed 3 targets and 2 agents in ${Date.now() - t0} ms`);
  });

  test('docker stop web2: its row goes down and an open incident with a sent delivery appears, without a reload', { timeout: 40_000 }, async () => {
    const { page } = light;
    await page.evaluate(() => void ((globalThis as unknown as Win).__sameDocument = 'yes'));
    const t0 = Date.now();
    await dockerOk(['stop', web2.container.getId()], { timeoutMs: 20_000 });
    const stopped = Date.now();
    await waitInPage(page, (sel) => (globalThis as unknown as Win).document.querySelector(sel)?.getAttribute('data-state') === 'down', rowOf(WEB.web2), LIVE_MS);
    const downAt = Date.now();
    const openIncident = (target: string): string | undefined => {
      const all = Array.from((globalThis as unknown as Win).document.querySelectorAll('[data-incident][data-state="open"]'));
      const mine = all.find((el) => el.getAttribute('data-target') === target || (el.textContent ?? '').includes(target));
      return mine?.getAttribute('data-incident') ?? undefined;
    };
    const id = await waitInPage(page, openIncident, WEB.web2, LIVE_MS);
    assert.ok(id, 'the incident has an id');
    const incident = `[data-incident="${id}"]`;
    await page.waitForSelector(`${incident} [data-delivery][data-channel][data-outcome="sent"]`, { timeout: LIVE_MS });
    const sentAt = Date.now();
    const outcomes = await page.locator(`${incident} [data-delivery]`).evaluateAll((els) => els.map((el) => `${(el as unknown as El).getAttribute('data-channel')}:${(el as unknown as El).getAttribute('data-outcome')}`));
    assert.ok(outcomes.every((o) => /^[^:]+:(pending|retrying|sent|dead)$/.test(o)), `deliveries: ${outcomes.join(', ')}`);
    assert.equal(await page.evaluate(() => (globalThis as unknown as Win).__sameDocument), 'yes', 'the page was not reloaded');
    for (const name of [WEB.web1, WEB.web3]) assert.equal(await page.getAttribute(rowOf(name), 'data-state'), 'up', `${name} stays up`);
    assert.equal(await page.locator(`[data-incident][data-state="open"]`).count(), 1, 'one open incident: web2');
    clean(light, 'light page');
    console.log(`  docker stop took ${stopped - t0} ms; row down ${downAt - t0} ms after the stop began, incident with a sent delivery (${outcomes.join(', ')}) after ${sentAt - t0} ms`);
  });

  test('light, dark and phone: screenshots, no errors, no serious or critical axe violations in light and dark', { timeout: 60_000 }, async () => {
    await accessible(light, 'light');
    await screenshot(light.page, 'status-light');
    clean(light, 'light page');

    const dark = await open(`${base}/`, { colorScheme: 'dark' });
    await dark.page.waitForSelector(`${rowOf(WEB.web2)}[data-state="down"]`, { timeout: LIVE_MS });
    assert.equal(await dark.page.evaluate(() => (globalThis as unknown as { matchMedia(q: string): { matches: boolean } }).matchMedia('(prefers-color-scheme: dark)').matches), true);
    await accessible(dark, 'dark');
    await screenshot(dark.page, 'status-dark');
    clean(dark, 'dark page');

    const phone = await open(`${base}/`, { viewport: { width: 375, height: 812 } });
    await phone.page.waitForSelector(`${rowOf(WEB.web2)}[data-state="down"]`, { timeout: LIVE_MS });
    await screenshot(phone.page, 'status-phone');
    const width = await phone.page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    console.log(`  phone: page width ${width} px at a 375 px viewport`);
    clean(phone, 'phone page');
  });

  test('--token: the page, /api/v1/status and /api/v1/events are 401 without it and 200 with HTTP Basic', { timeout: 30_000 }, async () => {
    const expectType: Record<string, RegExp> = { '/': /^text\/html/, '/api/v1/status': /^application\/json/, '/api/v1/events': /^text\/event-stream/ };
    for (const [path, type] of Object.entries(expectType)) {
      assert.equal((await get(tokenBase, path)).status, 401, `GET ${path} without the token`);
      assert.equal((await get(tokenBase, path, basic('wrong-token-0123456789'))).status, 401, `GET ${path} with a wrong token`);
      const ok = await get(tokenBase, path, basic(TOKEN));
      assert.equal(ok.status, 200, `GET ${path} with the token as the Basic password`);
      assert.match(ok.type, type, `GET ${path}: content-type`);
    }
  });

  test('--token: a hostile alert message shows as text, live and after a reload, and runs nothing', { timeout: 40_000 }, async () => {
    const opened = await open(`${tokenBase}/`, { httpCredentials: { username: 'ops', password: TOKEN } });
    const { page } = opened;
    const alert = { id: 'hostile-1', to: 'admin@work', status: 'down', target: 'hostile-target', message: HOSTILE, reason: HOSTILE };
    assert.equal(await post(tokenBase, '/alerts', alert, `Bearer ${TOKEN}`), 202);
    const harmless = async (when: string): Promise<void> => {
      await waitInPage(page, (text) => (globalThis as unknown as Win).document.body.innerText.includes(text), HOSTILE, LIVE_MS);
      assert.equal(await page.getByText(HOSTILE).first().isVisible(), true, `${when}: the message is visible as text`);
      assert.equal(await page.evaluate(() => typeof (globalThis as unknown as Win).__pwned), 'undefined', `${when}: nothing ran`);
      assert.equal(await page.locator('img[src="x"], img[onerror], [onerror]').count(), 0, `${when}: no element from the message`);
      const scripts = await page.locator('script').evaluateAll((els) => els.map((el) => (el as unknown as El).textContent ?? ''));
      assert.ok(!scripts.some((s) => s.includes('__pwned')), `${when}: no script from the message`);
    };
    await harmless('live');
    await page.reload();
    await waitLive(opened, LIVE_MS);
    await harmless('after a reload');
    clean(opened, 'token page');
  });

  test('--public-status opens reading without the token, not writing; --status-page off serves none of it', { timeout: 30_000 }, async () => {
    const silence = { target: 'web*', for: '1h', comment: 'test' };
    for (const path of ['/', '/api/v1/status', '/api/v1/events']) assert.equal((await get(publicBase, path)).status, 200, `--public-status: GET ${path} without the token`);
    assert.equal(await post(publicBase, '/api/v1/silences', silence), 401, '--public-status: a silence without the token');
    assert.equal(await post(publicBase, '/alerts', { message: 'no token' }), 401, '--public-status: POST /alerts without the token');
    for (const path of ['/', '/api/v1/status', '/api/v1/events', '/assets/status.js', '/badge/x/status.svg']) {
      assert.equal((await get(offBase, path)).status, 404, `--status-page off: GET ${path}`);
    }
    assert.equal(await post(offBase, '/alerts', { message: 'the intake still works' }), 202, '--status-page off: POST /alerts');
  });
});
