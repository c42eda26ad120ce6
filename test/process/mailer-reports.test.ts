/**
 * The mailer bundle as the agents' hub: POST /api/v1/reports (202; bad
 * reports 400 and a gzip bomb 413, with one-line reasons), GET /api/v1/agents,
 * and --agent-silence 2s: an agent that stops reporting is alerted on through
 * the channels (the log) within the silence + 1s, its next report sends the
 * up, and one that said goodbye raises nothing. With a --to of only *@domain
 * the mailer warns at start that the alarms have no recipient, and
 * --default-to gives them one; an --agent-silence at or below the agents'
 * default report interval is warned of at start. The raw protocol keeps
 * working on the same port.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LATENCY_BUCKETS_MS, REPORT_MAX_BYTES } from '../../shared/wire-report.ts';
import { run, type Running, startMailer } from '../support/process.ts';

const SILENCE_MS = 2000;
let mailer: Running;
let base = '';

before(async () => {
  const started = await startMailer(['--agent-silence', '2s']);
  mailer = started;
  base = `http://127.0.0.1:${started.port}`;
});
beforeEach(() => mailer.mark());
after(async () => {
  await mailer.stop();
});

const report = (name: string, extra: Record<string, unknown> = {}) => ({
  v: 1,
  agent: { name, instance: `inst-${name}-0001`, version: '0.1.0' },
  sentAt: new Date().toISOString(),
  intervalMs: 1000,
  targets: [
    { name: 'http://web/', state: 'up', checks: 3, failures: 0, latency: [3, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)] },
    { name: 'tcp://db:5432', state: 'down', checks: 3, failures: 3, latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), lastFailure: 'connection refused' },
  ],
  ...extra,
});

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1/reports`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('a report is a 202 {"ok": true}, and GET /api/v1/agents lists its agent', async () => {
  assert.deepEqual(await post(JSON.stringify(report('listed'))), { status: 202, json: { ok: true } });
  const res = await fetch(`${base}/api/v1/agents`);
  assert.equal(res.status, 200);
  const agents = (await res.json()) as Array<Record<string, unknown>>;
  const listed = agents.find((a) => a.name === 'listed');
  assert.deepEqual({ ...listed, lastReportAt: typeof listed?.lastReportAt }, {
    name: 'listed',
    instance: 'inst-listed-0001',
    version: '0.1.0',
    lastReportAt: 'string',
    intervalMs: 1000,
    state: 'reporting',
    targets: 2,
  });
});

test('bad reports are 400s, a gzip bomb a 413, each with a one-line reason; the mailer keeps going', async () => {
  const cases: Array<[string | Buffer, Record<string, string>, number, RegExp]> = [
    ['{"v": 1,', {}, 400, /^body is not valid JSON/],
    [JSON.stringify(report('x', { v: 9 })), {}, 400, /^report version 9 is not supported/],
    [JSON.stringify(report('x', { colour: 'red' })), {}, 400, /^report: unknown field "colour"/],
    [gzipSync(Buffer.alloc(REPORT_MAX_BYTES * 2, 0x20)), { 'content-encoding': 'gzip' }, 413, /over the \d+-byte limit once decompressed/],
  ];
  for (const [body, headers, status, reason] of cases) {
    const answer = await post(body, headers);
    assert.equal(answer.status, status, String(answer.json.error));
    assert.match(String(answer.json.error), reason);
    assert.doesNotMatch(String(answer.json.error), /\n/);
  }
  await mailer.waitFor(/Refused POST \/api\/v1\/reports from 127\.0\.0\.1:\d+: report: unknown field "colour"/);
  assert.equal((await post(gzipSync(JSON.stringify(report('zipped'))), { 'content-encoding': 'gzip' })).status, 202);
});

test('an agent that stops reporting is alerted on within the silence + 1s; its next report sends the up', async () => {
  assert.equal((await post(JSON.stringify(report('quiet')))).status, 202);
  const posted = Date.now();
  await mailer.waitFor(/Sending email: To: admin@work Message: agent quiet has not reported for [\d.]+s; its 2 targets are not being watched/, SILENCE_MS + 1000);
  const took = Date.now() - posted;
  assert.ok(took >= SILENCE_MS - 50, `alarm after ${took}ms, before the ${SILENCE_MS}ms silence`);
  const listed = (await (await fetch(`${base}/api/v1/agents`)).json()) as Array<Record<string, unknown>>;
  assert.equal(listed.find((a) => a.name === 'quiet')?.state, 'silent');
  assert.equal((await post(JSON.stringify(report('quiet')))).status, 202);
  await mailer.waitFor(/Sending email: To: admin@work Message: agent quiet reports again after [\d.]+s/);
});

test('an agent that said goodbye raises no alarm (an agent that did not, reported after it, does)', async () => {
  assert.equal((await post(JSON.stringify(report('leaving')))).status, 202);
  assert.equal((await post(JSON.stringify(report('leaving', { goodbye: true })))).status, 202);
  await mailer.waitFor(/agent leaving stopped \(goodbye\)/);
  // The witness's deadline is after the one the goodbye cancelled: once its alarm is out, leaving's would be too.
  assert.equal((await post(JSON.stringify(report('witness')))).status, 202);
  await mailer.waitFor(/Message: agent witness has not reported for/, SILENCE_MS + 1000);
  assert.doesNotMatch(mailer.output(), /agent leaving has not reported/);
});

test("the book's raw protocol still works on the same port", async () => {
  const port = Number(new URL(base).port);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end('To: admin@work  Message: raw beside the hub'));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  await mailer.waitFor(/^Sending email: To: admin@work  Message: raw beside the hub$/m);
});

test("a --to of only *@domain: a start-up warning that the alarms cannot be sent; with --default-to they go to it", async () => {
  const alone = await startMailer(['--to', '*@corp']);
  try {
    await alone.waitFor(/^No default recipient: --to \(\*@corp\) has no plain address and no --default-to \(DEFAULT_TO\) is given, so agent-silence alarms and JSON alerts that name no recipient cannot be sent\.$/m);
  } finally {
    await alone.stop();
  }
  const given = await startMailer(['--to', '*@corp', '--default-to', 'oncall@corp', '--agent-silence', '1s']);
  try {
    const res = await fetch(`http://127.0.0.1:${given.port}/api/v1/reports`, { method: 'POST', body: JSON.stringify(report('corp')), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 202, await res.text());
    await given.waitFor(/^Sending email: To: oncall@corp Message: agent corp has not reported for [\d.]+s/m, 2000);
    assert.doesNotMatch(given.output(), /No default recipient/);
  } finally {
    await given.stop();
  }
});

test("--agent-silence at or below the agents' default report interval (10s): a warning at start; above it, none", async () => {
  const short = await startMailer(['--agent-silence', '5s']);
  try {
    await short.waitFor(/^--agent-silence 5s is at or below the agents' default report interval \(--report-every 10s\): such an agent is called silent between two of its reports; .*$/m, 5000);
  } finally {
    await short.stop();
  }
  const long = await startMailer(['--agent-silence', '30s']);
  try {
    await long.waitFor(/^CH2 Example Mailer has started\.$/m, 5000);
    assert.doesNotMatch(long.output(), /--agent-silence/);
  } finally {
    await long.stop();
  }
});

test('--default-to outside the allowlist, or not one address, exits 2 with one line', () => {
  for (const [args, env, reason] of [
    [['--to', '*@corp', '--default-to', 'x@evil.corp'], {}, /--default-to \(DEFAULT_TO\): "x@evil\.corp" is not on the allowlist \(--to\)/],
    [['--to', '*@corp'], { DEFAULT_TO: 'a@corp,b@corp' }, /DEFAULT_TO.*is not an e-mail address/],
  ] as Array<[string[], Record<string, string>, RegExp]>) {
    const { code, stderr } = run('mailer', args, env);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, reason);
  }
});

test('--agent-silence takes a duration from 1s, or off; anything else exits 2 with one line', () => {
  for (const [args, env, reason] of [
    [['--agent-silence', '500ms'], {}, /--agent-silence.*from 1s/],
    [[], { AGENT_SILENCE: 'never' }, /AGENT_SILENCE.*duration/],
  ] as Array<[string[], Record<string, string>, RegExp]>) {
    const { code, stderr } = run('mailer', args, env);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, reason);
  }
  assert.match(run('mailer', ['--help']).stdout, /--agent-silence <duration>/);
});
