/**
 * The status page's live incidents list carries the controls the page shows,
 * in a real browser (Debian's chromium through test/support/browser.ts), on the
 * mailer image with --token and --public-status: the token's holder (logged in:
 * a session) and an anonymous reader (the public view) have the page open when an
 * incident opens. The list the event stream sends shows it to both without a
 * reload; the holder's with its Close button (the page's one close form holds
 * the CSRF token and the comment), the public one with no form, button or
 * token. A close posted without the CSRF token is refused (403) and leaves the
 * incident open; the holder's Close button closes it, with the comment, and
 * the page shows it closed. No console or page errors, no serious or critical
 * axe-core violations after the live swap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAccessible as accessible, assertClean as clean, launchBrowser, waitInPage, waitLive, newPage, type Browser, type OpenedPage, type PageOptions } from '../support/browser.ts';
import { Cleanup, startMailer, startNetwork } from './helpers.ts';

const TOKEN = 'status-live-token-0123456789';
/** How long the page may take to show a change the mailer knows of. */
const LIVE_MS = 5_000;
const TARGET = 'http://live-web:80/';

/** The DOM, as far as the functions run in the page use it (the project's lib has no DOM types). */
interface El {
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  textContent: string | null;
}
type Win = { document: { querySelectorAll(selector: string): ArrayLike<El> } };

describe('the live status page: its incidents list with the controls the page shows, on the image', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  let browser: Browser;
  let base: string;

  const open = async (opts: PageOptions = {}): Promise<OpenedPage> => {
    const opened = await newPage(browser, opts);
    cleanup.defer('close a page', () => opened.close());
    await opened.page.goto(`${base}/`);
    await waitLive(opened, LIVE_MS);
    return opened;
  };
  /** The id of the open incident on TARGET shown in the page, once there is one. */
  const openIncident = (target: string): string | undefined => {
    const all = Array.from((globalThis as unknown as Win).document.querySelectorAll('[data-incident][data-state="open"]'));
    return all.find((el) => (el.querySelector('.i-head a')?.textContent ?? '') === target)?.getAttribute('data-incident') ?? undefined;
  };

  before(async () => {
    browser = await launchBrowser();
    cleanup.defer('close the browser', () => browser.close());
    const net = await startNetwork(cleanup);
    const mailer = await startMailer(net, cleanup, { args: ['--token', TOKEN, '--public-status'] });
    base = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
  }, { timeout: 90_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('an incident that opens while the page is open comes with its Close button for the token holder, with none for the public; the button closes it, a post without the CSRF token does not', { timeout: 60_000 }, async () => {
    // With --public-status the page answers without a challenge, so the browser would never send HTTP Basic: the holder logs in (a session).
    const holder = await open();
    await holder.page.goto(`${base}/login`);
    await holder.page.fill('#token', TOKEN);
    await Promise.all([holder.page.waitForURL(`${base}/`, { timeout: LIVE_MS }), holder.page.click('button[type="submit"]')]);
    await waitLive(holder, LIVE_MS);
    const anonymous = await open();

    const alert = { id: 'live-close-1', to: 'admin@work', status: 'down', target: TARGET, message: `${TARGET} is down`, reason: 'connection refused' };
    const posted = await fetch(`${base}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(alert), signal: AbortSignal.timeout(10_000) });
    assert.equal(posted.status, 202);

    // Both pages were open before the incident was: it can only have come in the event stream's list.
    const id = await waitInPage(holder.page, openIncident, TARGET, LIVE_MS);
    assert.ok(id, 'the incident shows live on the holder\'s page');
    const button = holder.page.locator(`[data-incident="${id}"] button`, { hasText: 'Close' });
    await button.waitFor({ timeout: LIVE_MS }).catch(() => {});
    assert.equal(await button.count(), 1, 'the live list carries the Close button for the token holder');
    assert.equal(await button.getAttribute('form'), 'i-close', "a button of the section's one close form");
    assert.equal(await holder.page.locator('#i-close input[name="csrf"]').count(), 1, 'which holds the CSRF token');
    assert.equal(await button.getAttribute('formaction'), `/incidents/${encodeURIComponent(id)}/close`);
    await waitInPage(anonymous.page, openIncident, TARGET, LIVE_MS);
    assert.equal(await anonymous.page.locator('#incidents button, #incidents form, input[name="csrf"]').count(), 0, 'the public view gets no controls and no CSRF token, live either');
    await accessible(holder, "the holder's page after the live swap");
    await accessible(anonymous, 'the public page after the live swap');

    // The token alone (HTTP Basic, which a browser sends by itself) is not enough for a form from a page: the CSRF token is.
    const forged = await fetch(`${base}/incidents/${encodeURIComponent(id)}/close`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`, origin: base },
      body: 'comment=forged',
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(forged.status, 403, 'a close without the CSRF token');
    assert.equal(await holder.page.getAttribute(`[data-incident="${id}"]`, 'data-state'), 'open');

    await holder.page.fill('#i-comment', 'closed from the live page');
    await Promise.all([holder.page.waitForURL(/\/#incidents$/, { timeout: LIVE_MS }), button.click()]);
    await holder.page.waitForSelector(`[data-incident="${id}"][data-state="closed"]`, { timeout: LIVE_MS });
    const closed = (await (await fetch(`${base}/api/v1/incidents?state=closed`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) })).json()) as Array<{ id: string; events: Array<{ kind: string; text: string }> }>;
    const mine = closed.find((i) => i.id === id);
    assert.ok(mine, `closed: ${JSON.stringify(closed.map((i) => i.id))}`);
    assert.ok(mine.events.some((e) => e.kind === 'resolved' && e.text.includes('closed by hand') && e.text.includes('closed from the live page')), JSON.stringify(mine.events));
    await anonymous.page.waitForSelector('#incident-list [data-incident][data-state="closed"]', { timeout: LIVE_MS });
    assert.equal(await holder.page.locator(`[data-incident="${id}"] button`).count(), 0, 'no Close button on a closed incident');
    clean(holder, "the holder's page");
    clean(anonymous, 'the public page');
  });
});
