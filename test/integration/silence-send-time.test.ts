/**
 * Silences at send time, on the images: a real nginx (insideweb), the
 * ch2/mailer (insidemailer, with a token) and the ch2/agent, the web container
 * stopped and started with the docker CLI, the silences posted and removed
 * from the host through the API. A down that comes while a silence is in
 * force is held (the log channel's `Sending email` line does not come) and
 * sent once when the silence ends with the site still down; an outage wholly
 * inside a silence sends nothing, its up included.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cleanup, dockerOk, type Started, startAgent, startMailer, startNetwork, startNginx } from './helpers.ts';

const TOKEN = 'silence-send-time-token-0123456789';
const DOWN = /Sending email: To: admin@work Message: The service is down!\n/;
const ANY_SEND = /Sending email:/;

function api(mailer: Started, method: string, path: string, body?: unknown): Promise<Response> {
  const base = `http://${mailer.container.getHost()}:${mailer.container.getMappedPort(33333)}`;
  return fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
}

async function silence(mailer: Started): Promise<string> {
  const r = await api(mailer, 'POST', '/api/v1/silences', { target: '*insideweb*', for: '1h', comment: 'maintenance' });
  assert.equal(r.status, 201);
  return ((await r.json()) as { id: string }).id;
}

async function unsilence(mailer: Started, id: string): Promise<void> {
  const r = await api(mailer, 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
  assert.equal(r.status, 200);
}

describe('silences at send time, on a real nginx', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  async function setUp() {
    const net = await startNetwork(cleanup);
    const web = await startNginx(net, cleanup);
    const mailer = await startMailer(net, cleanup, { env: { MAILER_TOKEN: TOKEN } });
    const agent = await startAgent(net, cleanup, { env: { MAILER_TOKEN: TOKEN } });
    return { mailer, agent, webName: web.container.getName().replace(/^\//, '') };
  }

  test('a silence, then a down, then the silence ends with the site still down: the down is sent then, once', { timeout: 90_000 }, async () => {
    const { mailer, agent, webName } = await setUp();
    const id = await silence(mailer);
    await dockerOk(['stop', webName], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Alert \S+ via log is silenced \(silence \S+\); kept, sent when the silence ends if still due\./, 15_000);
    assert.doesNotMatch(mailer.logs.text, ANY_SEND, 'held while the silence is in force');
    const held = (await (await api(mailer, 'GET', '/alerts?state=silenced')).json()) as { total: number; alerts: Array<{ channels: Record<string, { state: string }> }> };
    assert.equal(held.total, 1, 'GET /alerts?state=silenced lists the held down');
    assert.equal(held.alerts[0]?.channels.log?.state, 'silenced');

    await unsilence(mailer, id);
    await mailer.logs.waitFor(DOWN, 10_000);
    // The site stays down: the agent checks on (no reminders by default), nothing more is sent.
    const checks = agent.logs.count(/System down/);
    await agent.logs.waitForCount(/System down/, checks + 3, 15_000);
    assert.equal(mailer.logs.count(ANY_SEND), 1, 'the down once, and nothing else');
    await dockerOk(['start', webName], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Sending email: To: admin@work Message: The service is back up\. Down for /, 20_000);
    assert.equal(mailer.logs.count(DOWN), 1, 'one down for the outage');
  });

  test('an outage wholly inside a silence sends nothing, its up included', { timeout: 90_000 }, async () => {
    const { mailer, agent, webName } = await setUp();
    const id = await silence(mailer);
    await dockerOk(['stop', webName], { timeoutMs: 20_000 });
    await mailer.logs.waitFor(/Alert \S+ via log is silenced/, 15_000);
    await dockerOk(['start', webName], { timeoutMs: 20_000 });
    await agent.logs.waitFor(/Alert: http:\/\/insideweb:80\/ is up \(down for [^)]+\); telling the mailer\./, 20_000);
    // The up closes the incident: the held down will never be due.
    await mailer.logs.waitFor(/Alert \S+ via log not sent: silenced; its incident closed while the silence lasted\./, 10_000);
    await mailer.logs.waitForCount(/Alert \S+ via log is silenced/, 2, 10_000);
    await unsilence(mailer, id);
    await mailer.logs.waitFor(/Alert \S+ via log not sent: its down was never sent on this channel\./, 10_000);
    assert.doesNotMatch(mailer.logs.text, ANY_SEND, 'neither the down nor the up reached the log channel');
    const dead = (await (await api(mailer, 'GET', '/alerts?state=dead')).json()) as { total: number };
    assert.equal(dead.total, 0, 'nothing dead-lettered');
  });
});
