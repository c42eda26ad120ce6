/**
 * Outages (issue 3: no alert is ever lost), with real parts restarted in place.
 *
 * 1. SMTP outage: ch2/smtp-sink (alias "smtp", started with the docker CLI so the
 *    SAME container can be stopped and started again under its alias) and our mailer
 *    with --smtp. The sink is stopped for 30 s while ten alerts are POSTed to the
 *    mailer; once it is started again every one of them arrives, each exactly once
 *    (counted by the X-Ch2-Alert-Id header of the messages the sink received).
 * 2. Mailer outage seen by the agent: nginx ("insideweb"), our mailer
 *    ("insidemailer") and our agent. The mailer is stopped, then the site; the agent
 *    holds its down alert and retries; once the same mailer container is started
 *    again its log (`docker logs`, both runs) shows the down alert exactly once, and
 *    the up alert after it once the site is back.
 *
 * The dispatcher's and the agent's retries back off exponentially with jitter, so
 * only deadlines are asserted here, never how fast a retry comes.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { StoredMessage } from '../fixtures/smtp-sink/server.ts';
import {
  Cleanup,
  docker,
  dockerOk,
  http,
  IMAGES,
  MAILER_STARTED,
  startAgent,
  startMailer,
  startNetwork,
  SYSTEM_UP,
  TEST_LABEL,
  uniqueName,
  waitUntil,
} from './helpers.ts';

const TARGET = 'http://insideweb:80/';
const DOWN_LINE = /Sending email: To: admin@work Message: The service is down!/;
const UP_LINE = /Sending email: To: admin@work Message: The service is back up\./;
const OUTAGE_MS = 30_000;
const OUTAGE_ALERTS = 10;

// ---------------------------------------------------------------------------------
// Small docker CLI helpers for containers that are stopped and started in place
// ---------------------------------------------------------------------------------

interface LogLine {
  ts: string;
  line: string;
}

/** Sort key for a docker RFC3339Nano timestamp (trailing zeros of the fraction are trimmed). */
function tsKey(ts: string): string {
  return ts.replace(/(?:\.(\d+))?Z$/, (_all, frac: string | undefined) => `.${(frac ?? '').padEnd(9, '0')}Z`);
}

/**
 * Everything a container has printed, over all its runs (`docker logs` keeps the
 * output from before a stop), stdout and stderr merged in time order.
 */
async function dockerLogLines(name: string): Promise<LogLine[]> {
  const r = await dockerOk(['logs', '--timestamps', name], { timeoutMs: 20_000 });
  const lines: LogLine[] = [];
  for (const text of [r.stdout, r.stderr]) {
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      const space = raw.indexOf(' ');
      lines.push(space === -1 ? { ts: '', line: raw } : { ts: raw.slice(0, space), line: raw.slice(space + 1) });
    }
  }
  return lines.sort((a, b) => (tsKey(a.ts) < tsKey(b.ts) ? -1 : tsKey(a.ts) > tsKey(b.ts) ? 1 : 0));
}

function indicesOf(lines: readonly LogLine[], re: RegExp): number[] {
  return lines.flatMap((l, i) => (re.test(l.line) ? [i] : []));
}

function showLog(lines: readonly LogLine[], last = 40): string {
  return lines.slice(-last).map((l) => `  | ${l.line}`).join('\n');
}

/** Host port published for a container's port (changes on every `docker start`). */
async function publishedPort(name: string, port: number): Promise<number> {
  const r = await dockerOk(['port', name, `${port}/tcp`]);
  const first = r.stdout.trim().split('\n')[0] ?? '';
  const hostPort = Number(/:(\d+)$/.exec(first)?.[1]);
  if (!hostPort) throw new Error(`no published port for ${name} ${port}/tcp: ${r.stdout.trim()}`);
  return hostPort;
}

async function isRunning(name: string): Promise<boolean> {
  const r = await dockerOk(['inspect', '-f', '{{.State.Running}}', name]);
  return r.stdout.trim() === 'true';
}

async function ipOn(name: string, network: string): Promise<string> {
  const r = await dockerOk(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name]);
  return r.stdout.trim();
}

/** The value of one header of a raw message (folded lines joined). */
function headerOf(raw: string, name: string): string | undefined {
  const head = raw.replace(/\r\n/g, '\n').split('\n\n')[0] ?? '';
  const unfolded = head.replace(/\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  return re.exec(unfolded)?.[1]?.trim();
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// ---------------------------------------------------------------------------------
// 1. SMTP outage
// ---------------------------------------------------------------------------------

describe('SMTP outage: the SMTP server is stopped for 30 s while alerts arrive', { timeout: 330_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('every alert accepted during the outage is delivered once the server is back, each exactly once', { timeout: 300_000 }, async () => {
    const net = await startNetwork(cleanup);
    const sink = uniqueName('smtp');
    cleanup.names(sink);
    // The sink's self-signed certificate has expired: plain SMTP, as in smtp.test.ts.
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', sink,
      '--network', net.getName(), '--network-alias', 'smtp',
      '-e', 'SMTP_STARTTLS=off', '-p', '127.0.0.1::8025',
      IMAGES.smtpSink,
    ]);
    const sinkReady = async (): Promise<string> => {
      const api = `http://127.0.0.1:${await publishedPort(sink, 8025)}`;
      await waitUntil('the sink\'s /healthz', async () => ((await http('GET', `${api}/healthz`, undefined, { timeoutMs: 2_000 })).status === 200 ? true : undefined), 30_000, 200);
      return api;
    };
    let sinkApi = await sinkReady();
    const messages = async (): Promise<StoredMessage[]> => {
      const r = await http('GET', `${sinkApi}/messages`);
      assert.equal(r.status, 200, r.text);
      return r.json as StoredMessage[];
    };
    const idsIn = (list: readonly StoredMessage[]): string[] => list.map((m) => headerOf(m.raw, 'X-Ch2-Alert-Id') ?? '(no X-Ch2-Alert-Id)');

    const mailer = await startMailer(net, cleanup, { aliases: ['insidemailer'], args: ['--smtp', 'smtp://smtp:2525'] });
    const mailerUrl = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
    const postAlert = async (id: string, message: string): Promise<void> => {
      const r = await http('POST', `${mailerUrl}/alerts`, { to: 'admin@work', message, id, target: TARGET });
      assert.equal(r.status, 202, `POST /alerts ${id}: ${r.status} ${r.text}`);
      const body = r.json as { id?: string; duplicate?: boolean };
      assert.equal(body.id, id, 'the mailer keeps the sender\'s id');
      assert.notEqual(body.duplicate, true, `alert ${id} was taken for a duplicate`);
    };

    // Before the outage: one alert goes straight through (read now: the sink keeps messages in memory only).
    const before = randomUUID();
    await postAlert(before, 'Before the SMTP outage');
    const beforeMails = await waitUntil('the pre-outage alert in the sink', async () => {
      const found = (await messages()).filter((m) => headerOf(m.raw, 'X-Ch2-Alert-Id') === before);
      return found.length > 0 ? found : undefined;
    }, 15_000, 200);
    assert.equal(beforeMails.length, 1);
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${before} via smtp\\.`), 10_000);
    const ipBefore = await ipOn(sink, net.getName());

    // The outage: the same sink container, stopped for 30 s; ten alerts arrive meanwhile, one every 3 s.
    const stop = await dockerOk(['stop', sink], { timeoutMs: 30_000 });
    const stoppedAt = Date.now();
    assert.equal(await isRunning(sink), false);
    console.log(`  docker stop smtp took ${Math.round(stop.ms)} ms`);
    const ids: string[] = [];
    for (let i = 0; i < OUTAGE_ALERTS; i++) {
      await sleep(stoppedAt + (i * OUTAGE_MS) / OUTAGE_ALERTS - Date.now());
      const id = randomUUID();
      ids.push(id);
      await postAlert(id, `Outage alert ${i + 1} of ${OUTAGE_ALERTS}`);
    }
    // The mailer did try, and failed, while the server was away (it has had ~27 s for the first alert).
    const { match: failed } = await mailer.logs.waitFor(new RegExp(`Alert ${ids[0]} via smtp failed: [^\\n]*retry \\d+ in [\\d.]+s\\.`), 20_000);
    console.log(`  mailer during the outage: ${failed[0]}`);
    assert.equal(await isRunning(sink), false, 'the sink is still stopped');
    await sleep(stoppedAt + OUTAGE_MS - Date.now());

    // The same container again, under the same alias.
    await dockerOk(['start', sink], { timeoutMs: 30_000 });
    const startedAt = Date.now();
    console.log(`  the SMTP server was down for ${startedAt - stoppedAt} ms`);
    sinkApi = await sinkReady();
    const ipAfter = await ipOn(sink, net.getName());
    // Nothing else joins the network meanwhile, so the engine hands the address back;
    // the mailer's nodemailer caches DNS answers for 5 minutes.
    assert.equal(ipAfter, ipBefore, 'the restarted sink has its old address');

    // Every outage alert arrives. The next retry may be up to a minute away: a deadline, not a speed.
    await waitUntil(`all ${OUTAGE_ALERTS} outage alerts in the sink`, async () => {
      const got = new Set(idsIn(await messages()));
      return ids.every((id) => got.has(id)) ? true : undefined;
    }, 180_000, 1_000);
    console.log(`  all ${OUTAGE_ALERTS} alerts were in the sink ${Date.now() - startedAt} ms after it was started again`);
    // No send or retry left under way: nothing more can arrive.
    await waitUntil('no deliveries active in the mailer', async () => {
      const h = await http('GET', `${mailerUrl}/healthz`);
      return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
    }, 30_000, 250);

    const received = idsIn(await messages());
    for (const id of ids) {
      assert.equal(received.filter((x) => x === id).length, 1, `alert ${id} delivered exactly once; the sink has ${JSON.stringify(received)}`);
      assert.equal(mailer.logs.count(new RegExp(`Delivered alert ${id} via smtp\\.`)), 1, `one "Delivered" line for ${id}`);
      assert.doesNotMatch(mailer.logs.text, new RegExp(`Alert ${id} not delivered`), `alert ${id} was dead-lettered`);
    }
    assert.deepEqual([...received].sort(), [...ids].sort(), 'after the restart the sink received the outage alerts and nothing else (the pre-outage alert was not sent again)');
    // The log channel never waited for SMTP: each alert has its book line.
    for (let i = 0; i < OUTAGE_ALERTS; i++) {
      assert.equal(mailer.logs.count(new RegExp(`Sending email: To: admin@work Message: Outage alert ${i + 1} of ${OUTAGE_ALERTS}$`, 'm')), 1);
    }
  });
});

// ---------------------------------------------------------------------------------
// 2. Mailer outage seen by the agent
// ---------------------------------------------------------------------------------

describe('mailer outage seen by the agent', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('the site goes down while the mailer is stopped: the alert lands once the same mailer is started again, then the up alert', { timeout: 200_000 }, async () => {
    const net = await startNetwork(cleanup);
    const web = uniqueName('web');
    const mailer = uniqueName('mailer');
    cleanup.names(mailer, web);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', web, '--network', net.getName(), '--network-alias', 'insideweb', '-p', '127.0.0.1::80', IMAGES.nginx]);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', mailer, '--network', net.getName(), '--network-alias', 'insidemailer', IMAGES.mailer]);
    const mailerLog = async (): Promise<LogLine[]> => dockerLogLines(mailer);
    const count = (lines: readonly LogLine[], re: RegExp): number => indicesOf(lines, re).length;
    await waitUntil('the mailer to start', async () => (count(await mailerLog(), MAILER_STARTED) >= 1 ? true : undefined), 15_000, 200);
    // The site answers before the agent's first check, so the agent never sees it down at start.
    const webUrl = `http://127.0.0.1:${await publishedPort(web, 80)}/`;
    await waitUntil('nginx to answer', async () => ((await http('GET', webUrl, undefined, { timeoutMs: 2_000 })).status === 200 ? true : undefined), 30_000, 200);
    const agent = await startAgent(net, cleanup);
    assert.equal(count(await mailerLog(), /Sending email/), 0, 'no alert while the site is up');

    // The mailer goes away first.
    const stopMailer = await dockerOk(['stop', mailer], { timeoutMs: 30_000 });
    assert.equal(await isRunning(mailer), false);
    console.log(`  docker stop mailer took ${Math.round(stopMailer.ms)} ms`);

    // Then the site: the agent raises the alert and holds it, retrying.
    const mark = agent.logs.mark();
    await dockerOk(['stop', web], { timeoutMs: 30_000 });
    await agent.logs.waitFor(new RegExp(`Alert: ${escapeRe(TARGET)} is down \\([^\\n]*\\); telling the mailer\\.`), 15_000, mark);
    const { match: retrying } = await agent.logs.waitFor(/mailer unreachable at insidemailer:33333: [^\n]*retrying in [\d.]+s \(\d+ alerts? waiting\)/, 15_000, mark);
    console.log(`  agent while the mailer is stopped: ${retrying[0]}`);
    // It keeps holding it: a second retry, still nothing at the (stopped) mailer.
    await agent.logs.waitForCount(/mailer unreachable at insidemailer:33333: [^\n]*retrying in/, 2, 30_000, mark);
    assert.equal(count(await mailerLog(), /Sending email/), 0, 'nothing reached the stopped mailer');

    // The same mailer container again, under the same alias.
    await dockerOk(['start', mailer], { timeoutMs: 30_000 });
    const mailerStarted = Date.now();
    // The agent's backoff doubles from 0.5 s up to 30 s: a deadline, not a speed.
    const afterDown = await waitUntil('the down alert in the restarted mailer\'s log', async () => {
      const lines = await mailerLog();
      return count(lines, MAILER_STARTED) >= 2 && count(lines, DOWN_LINE) >= 1 ? lines : undefined;
    }, 60_000, 250);
    console.log(`  the held down alert reached the mailer ${Date.now() - mailerStarted} ms (or less) after docker start mailer`);
    const started = indicesOf(afterDown, MAILER_STARTED);
    const downs = indicesOf(afterDown, DOWN_LINE);
    assert.equal(started.length, 2, `the mailer started twice (one container, two runs):\n${showLog(afterDown)}`);
    assert.ok(downs.every((i) => i > started[1]!), `the down alert was logged by the restarted mailer:\n${showLog(afterDown)}`);

    // The site comes back: the up alert follows the down alert.
    const mark2 = agent.logs.mark();
    await dockerOk(['start', web], { timeoutMs: 30_000 });
    const final = await waitUntil('the up alert in the mailer\'s log', async () => {
      const lines = await mailerLog();
      return count(lines, UP_LINE) >= 1 ? lines : undefined;
    }, 60_000, 250);
    await agent.logs.waitFor(SYSTEM_UP, 10_000, mark2);
    // The agent's queue is ordered: once the up alert is in, the down alert's retries are over.
    const finalDowns = indicesOf(final, DOWN_LINE);
    const finalUps = indicesOf(final, UP_LINE);
    assert.equal(finalDowns.length, 1, `the down alert exactly once:\n${showLog(final)}`);
    assert.equal(finalUps.length, 1, `the up alert exactly once:\n${showLog(final)}`);
    assert.ok(finalDowns[0]! < finalUps[0]!, `down before up:\n${showLog(final)}`);
    assert.equal(count(final, /Sending email/), 2, `no other alerts:\n${showLog(final)}`);
    assert.equal(agent.logs.count(/Alert: http:\/\/insideweb:80\/ is down/), 1, 'one down alert raised');
  });
});
