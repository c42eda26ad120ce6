/**
 * The hub shared by two mailers on one Postgres database (the postgres:15
 * image as `db`), both with `--token`: an agent reports every second to mailer
 * A only (`--mailer ma:33333`), an nginx its target. Mailer B, which hears
 * nothing from the agent, shows it (GET /api/v1/status) reporting and the
 * target up within seconds; `docker stop` of the nginx: A sends the down, and
 * B shows the target down with its open incident, and B's page in a real
 * browser turns the target's row down live (no reload); `docker start`: both
 * show it up and the incident closed. A's commits NOTIFY ch2_hub and B applies
 * the rows they wrote; before, B's status had no agent and no target at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, waitInPage, waitLive, type Browser, type OpenedPage } from '../support/browser.ts';
import { Cleanup, containerIp, docker, dockerOk, startAgent, startMailer, startNginx, startNetwork, type Started, waitUntil } from './helpers.ts';
import { PostgresServer } from './postgres.ts';

const AGENT = 'hub-probe';
const TOKEN = 'cluster-hub-token-0123456789';
const TARGET = 'http://hubweb:80/';
/** How long a change heard at A may take to show at B (reports come every second). */
const LIVE_MS = 8_000;
const DOWN_SENT = /Sending email: To: admin@work Message: The service is down!/;

interface Status {
  targets: Array<{ name: string; state: string }>;
  agents: Array<{ name: string; state: string }>;
  incidents: Array<{ id: string; target: string; state: string }>;
}
interface El {
  getAttribute(name: string): string | null;
}
type Win = { document: { querySelector(selector: string): El | null }; __sameDocument?: string };
const rowOf = (name: string): string => `[data-target="${name}"]:not([data-incident]):not([data-delivery])`;

describe('the hub shared by two mailers on one Postgres database', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  let browser: Browser;
  let web: Started;
  const urls: string[] = [];
  const mailers: Started[] = [];
  const nameOf = (s: Started): string => s.container.getName().replace(/^\//, '');

  before(async () => {
    browser = await launchBrowser();
    cleanup.defer('close the browser', () => browser.close());
    const net = await startNetwork(cleanup);
    const pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('hub');
    for (const alias of ['ma', 'mb']) {
      mailers.push(await startMailer(net, cleanup, { aliases: [alias], args: ['--store', pg.url('hub', 'postgres', 'db:5432'), '--token', TOKEN] }));
    }
    for (const m of mailers) urls.push(`http://${await containerIp(nameOf(m))}:33333`);
    web = await startNginx(net, cleanup, 'hubweb');
    await startAgent(net, cleanup, { args: ['--mailer', 'ma:33333', '--target', TARGET, '--interval', '1s', '--report-every', '1s', '--agent-name', AGENT], env: { MAILER_TOKEN: TOKEN } });
  }, { timeout: 150_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  const status = async (url: string): Promise<Status> => {
    const res = await fetch(`${url}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    return (await res.json()) as Status;
  };
  const targetAt = async (url: string): Promise<string | undefined> => (await status(url)).targets.find((t) => t.name === TARGET)?.state;
  const openAt = async (url: string): Promise<string | undefined> => (await status(url)).incidents.find((i) => i.target === TARGET && i.state === 'open')?.id;
  const logsOf = async (m: Started): Promise<string> => {
    const r = await docker(['logs', nameOf(m)]);
    return r.stdout + r.stderr;
  };

  let page: OpenedPage;

  test('B, which hears none of its reports, shows the agent reporting and its target up', { timeout: 40_000 }, async () => {
    const t0 = Date.now();
    await waitUntil('the target up at A', async () => ((await targetAt(urls[0]!)) === 'up' ? true : undefined), 20_000, 200);
    const atA = Date.now();
    await waitUntil('the agent and the target at B', async () => {
      const s = await status(urls[1]!);
      return s.agents.some((a) => a.name === AGENT && a.state === 'reporting') && s.targets.some((t) => t.name === TARGET && t.state === 'up') ? true : undefined;
    }, LIVE_MS, 200);
    console.log(`  up at A after ${atA - t0} ms, at B ${Date.now() - atA} ms later`);
    page = await newPage(browser, { httpCredentials: { username: 'ops', password: TOKEN } });
    cleanup.defer('close the page', () => page.close());
    await page.page.goto(`${urls[1]}/`);
    await waitLive(page, LIVE_MS);
    await page.page.waitForSelector(`${rowOf(TARGET)}[data-state="up"]`, { timeout: LIVE_MS });
    await page.page.evaluate(() => void ((globalThis as unknown as Win).__sameDocument = 'yes'));
  });

  test('docker stop the target: A sends the down; B shows it down with its open incident, and B\'s page turns its row down live', { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    await dockerOk(['stop', '-t', '1', nameOf(web)], { timeoutMs: 20_000 });
    await waitUntil("A's down sent", async () => (DOWN_SENT.test(await logsOf(mailers[0]!)) ? true : undefined), 20_000, 200);
    const sentAt = Date.now();
    await waitInPage(page.page, (sel) => (globalThis as unknown as Win).document.querySelector(sel)?.getAttribute('data-state') === 'down', rowOf(TARGET), LIVE_MS);
    const pageAt = Date.now();
    assert.equal(await page.page.evaluate(() => (globalThis as unknown as Win).__sameDocument), 'yes', 'the page was not reloaded');
    await waitUntil('the target down at B with its open incident', async () => ((await targetAt(urls[1]!)) === 'down' && (await openAt(urls[1]!)) !== undefined ? true : undefined), LIVE_MS, 200);
    assert.equal(await openAt(urls[1]!), await openAt(urls[0]!), 'the same incident at both');
    assert.doesNotMatch(await logsOf(mailers[1]!), /Sending email/, 'B sends nothing: A heard it all');
    console.log(`  A sent the down ${sentAt - t0} ms after the stop began; B's page showed it down ${pageAt - sentAt} ms later`);
  });

  test('docker start the target: both show it up and the incident closed', { timeout: 60_000 }, async () => {
    const id = await openAt(urls[0]!);
    assert.ok(id, 'an open incident at A');
    await dockerOk(['start', nameOf(web)], { timeoutMs: 20_000 });
    for (const [i, url] of urls.entries()) {
      await waitUntil(`the target up at ${'AB'[i]} and its incident closed`, async () => ((await targetAt(url)) === 'up' && (await openAt(url)) === undefined ? true : undefined), 20_000, 200);
    }
    await waitInPage(page.page, (sel) => (globalThis as unknown as Win).document.querySelector(sel)?.getAttribute('data-state') === 'up', rowOf(TARGET), LIVE_MS);
    assert.deepEqual(page.errors, [], 'no console or page errors at B');
  });
});

describe('--quorum 2 over two mailers on one Postgres database, an agent at each', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let web: Started;
  const mailers: Started[] = [];
  const nameOf = (s: Started): string => s.container.getName().replace(/^\//, '');
  const QTARGET = 'http://qweb:80/';
  const HUB_DOWN = /Sending email: To: admin@work Message: http:\/\/qweb:80\/ is down \(agents (q1, q2|q2, q1) see it down; quorum 2\)\./g;
  const HUB_UP = /Sending email: To: admin@work Message: http:\/\/qweb:80\/ is up again/g;

  before(async () => {
    const net = await startNetwork(cleanup);
    const pg = await PostgresServer.start(cleanup, { network: net.getName(), alias: 'db' });
    await pg.ensure('quorum');
    for (const alias of ['qa', 'qb']) {
      mailers.push(await startMailer(net, cleanup, { aliases: [alias], args: ['--store', pg.url('quorum', 'postgres', 'db:5432'), '--token', TOKEN, '--quorum', '2'] }));
    }
    web = await startNginx(net, cleanup, 'qweb');
    await Promise.all(['qa', 'qb'].map((alias, i) => startAgent(net, cleanup, { args: ['--mailer', `${alias}:33333`, '--target', QTARGET, '--interval', '1s', '--report-every', '1s', '--agent-name', `q${i + 1}`], env: { MAILER_TOKEN: TOKEN } })));
  }, { timeout: 150_000 });
  after(() => cleanup.run(), { timeout: 60_000 });

  const all = async (re: RegExp): Promise<number> => {
    let n = 0;
    for (const m of mailers) {
      const r = await docker(['logs', nameOf(m)]);
      n += (r.stdout + r.stderr).match(re)?.length ?? 0;
    }
    return n;
  };

  test('docker stop the target: one hub down from the two mailers (not none, not two); started again: one up', { timeout: 90_000 }, async () => {
    const url = `http://${await containerIp(nameOf(mailers[1]!))}:33333`;
    const agentsUp = async (): Promise<boolean> => {
      const res = await fetch(`${url}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5_000) });
      const s = (await res.json()) as Status;
      return ['q1', 'q2'].every((n) => s.agents.some((a) => a.name === n && a.state === 'reporting')) && s.targets.some((t) => t.name === QTARGET && t.state === 'up');
    };
    await waitUntil('both agents and the target up at B', async () => ((await agentsUp()) ? true : undefined), 20_000, 200);
    const t0 = Date.now();
    await dockerOk(['stop', '-t', '1', nameOf(web)], { timeoutMs: 20_000 });
    await waitUntil('the hub down', async () => ((await all(HUB_DOWN)) > 0 ? true : undefined), 20_000, 200).catch(async (err: Error) => {
      const tails = await Promise.all(mailers.map(async (m) => (await docker(['logs', '--tail', '25', nameOf(m)])).stdout));
      throw new Error(`${err.message}; the mailers' logs:\n${tails.join('\n---\n')}`);
    });
    const downAt = Date.now();
    // A second one would follow within a report or two: wait 4 s for it.
    await waitUntil('4 s more', () => (Date.now() - downAt >= 4_000 ? true : undefined), 5_000, 100);
    assert.equal(await all(HUB_DOWN), 1, 'one hub down in all');
    assert.equal(await all(/Sending email: To: admin@work Message: The service is down!/g), 0, "no agent's own down: held below the quorum, then joined");
    await dockerOk(['start', nameOf(web)], { timeoutMs: 20_000 });
    await waitUntil('the up', async () => ((await all(HUB_UP)) + (await all(/Sending email: To: admin@work Message: The service is back up\./g)) > 0 ? true : undefined), 20_000, 200);
    const upAt = Date.now();
    await waitUntil('4 s more', () => (Date.now() - upAt >= 4_000 ? true : undefined), 5_000, 100);
    const ups = (await all(HUB_UP)) + (await all(/Sending email: To: admin@work Message: The service is back up\./g));
    assert.equal(ups, 1, 'one up in all');
    console.log(`  the hub down ${downAt - t0} ms after the stop began; one up ${upAt - downAt} ms after it`);
  });
});
