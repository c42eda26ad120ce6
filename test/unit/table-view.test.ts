/** The live table (agent/table-view.ts), drawn into a fake TTY and read back as ANSI. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fanOut } from '../../agent/events.ts';
import type { CheckResult } from '../../agent/checks/probe.ts';
import { createTableView } from '../../agent/output/table-view.ts';
import { formatLatency } from '../../agent/output/table-frame.ts';
import { formatElapsed as formatDuration } from '../../shared/duration.ts';
import type { View } from '../../agent/output/view.ts';
import type { Logger } from '../../shared/logger.ts';

const ESC = '\x1b[';
const ENTER_ALT = `${ESC}?1049h`;
const LEAVE_ALT = `${ESC}?1049l`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const CLEAR_SCREEN = `${ESC}2J`;
const GREEN = `${ESC}32m`;
const RED = `${ESC}1;31m`;
const YELLOW = `${ESC}33m`;
const RESET = `${ESC}0m`;

/** A terminal as far as the table can tell: a Writable with isTTY, columns and rows, that emits 'resize'. */
class FakeTTY extends Writable {
  readonly isTTY = true;
  columns: number;
  rows: number;
  readonly chunks: string[] = [];

  constructor(columns = 100, rows = 24) {
    super({ decodeStrings: false });
    this.columns = columns;
    this.rows = rows;
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    callback();
  }

  get text(): string {
    return this.chunks.join('');
  }

  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

/** Frames start with the cursor going home; this is the last one, its lines with their ANSI styling. */
function lastFrame(tty: FakeTTY): string[] {
  const frames = tty.text.split(`${ESC}H`);
  assert.ok(frames.length > 1, 'a frame was drawn');
  const frame = frames.at(-1)!;
  assert.ok(frame.endsWith(`${ESC}J`), 'a frame clears below itself');
  const lines = frame.slice(0, -`${ESC}J`.length).split('\n');
  for (const line of lines) assert.ok(line.endsWith(`${ESC}K`), 'every line clears its rest');
  return lines.map((line) => line.slice(0, -`${ESC}K`.length));
}

const plain = (text: string): string => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const frameCount = (tty: FakeTTY): number => tty.text.split(`${ESC}H`).length - 1;
const ok = (latencyMs: number, at = Date.now()): CheckResult => ({ ok: true, status: 200, latencyMs, at });
const fail = (reason: string, at = Date.now()): CheckResult => ({ ok: false, reason, latencyMs: 1000, at });
const targets = (...names: string[]) => names.map((name) => ({ name, url: `http://${name}/`, intervalMs: 1000 }));
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, output() {} };

test('one row per target, coloured states, in place on the alternate screen', () => {
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, log: silent });
  view.started(targets('web', 'api', 'db'), 'insidemailer:33333', 'json');
  view.check('web', ok(12.4));
  view.check('api', fail('connection refused'));
  assert.equal(tty.text, '', 'events only schedule a frame');
  view.flush();
  assert.ok(tty.text.startsWith(`${ENTER_ALT}${HIDE_CURSOR}${CLEAR_SCREEN}${ESC}H`));

  const lines = lastFrame(tty);
  assert.equal(lines.length, 5);
  assert.match(plain(lines[0]!), /^ch2-agent \| 3 targets: 1 up, 0 down, 2 pending \| alerts to insidemailer:33333 \(json\): 0 waiting$/);
  assert.match(plain(lines[1]!), /^TARGET\s+STATE\s+LATENCY\s+UPTIME\s+INC\s+LAST CHANGE\s*$/);
  assert.ok(lines[1]!.startsWith(`${ESC}7m`), 'the column header is in reverse video');
  // Trouble first: the pending targets (api failing, db unchecked), then the up one.
  assert.deepEqual(
    lines.slice(2).map((l) => plain(l).split(/\s+/)[0]),
    ['api', 'db', 'web'],
  );
  const [api, db, web] = lines.slice(2) as [string, string, string];
  assert.ok(web.includes(`${GREEN}UP     ${RESET}`));
  assert.match(plain(web), /^web\s+UP\s+12ms\s+100%\s+0\s+\d\d:\d\d:\d\d$/);
  assert.ok(api.includes(`${YELLOW}PENDING${RESET}`));
  assert.match(plain(api), /^api\s+PENDING\s+1\.00s\s+0\.0%\s+0\s+\d\d:\d\d:\d\d connection refused$/);
  assert.match(plain(db), /^db\s+PENDING\s+-\s+-\s+0\s+waiting for the first check$/);

  // A second frame redraws from the top, without entering the alternate screen again.
  view.check('api', ok(3));
  view.flush();
  assert.equal(tty.text.split(ENTER_ALT).length, 2);
  assert.equal(frameCount(tty), 2);
  view.close();
});

test('transitions: DOWN in red with its reason, reminders open no incident, UP says how long it lasted', () => {
  const tty = new FakeTTY(120, 24);
  const view = createTableView({ out: tty });
  const t0 = Date.now();
  view.started(targets('web'), 'mailer:33333', 'raw');
  view.check('web', ok(5, t0));
  view.check('web', fail('HTTP 503', t0 + 1000));
  view.check('web', fail('HTTP 503', t0 + 1100));
  view.transition('web', { kind: 'down', at: t0 + 1100, reason: 'HTTP 503' });
  view.alertQueued({ target: 'web', status: 'down' });
  view.flush();
  let row = lastFrame(tty)[2]!;
  assert.ok(row.includes(`${RED}DOWN   ${RESET}`));
  assert.match(plain(row), /^web\s+DOWN\s+1\.00s\s+33\.3%\s+1\s+\d\d:\d\d:\d\d HTTP 503 \(for /);
  assert.match(plain(lastFrame(tty)[0]!), /0 up, 1 down, 0 pending \| alerts to mailer:33333 \(raw\): 1 waiting$/);

  view.check('web', fail('connection refused', t0 + 61_000));
  view.transition('web', { kind: 'reminder', at: t0 + 61_000, reason: 'connection refused', downForMs: 60_000, count: 1 });
  view.alertQueued({ target: 'web', status: 'down' });
  view.alertDelivered();
  view.alertFailed();
  view.flush();
  row = lastFrame(tty)[2]!;
  assert.match(plain(row), /^web\s+DOWN\s+1\.00s\s+25\.0%\s+1\s+\d\d:\d\d:\d\d connection refused/);
  assert.match(plain(lastFrame(tty)[0]!), /: 0 waiting, 1 failed$/);

  view.check('web', ok(7, t0 + 62_000));
  view.transition('web', { kind: 'up', at: t0 + 62_000, downForMs: 61_000 });
  view.alertQueued({ target: 'web', status: 'up' });
  view.alertDropped();
  view.flush();
  row = lastFrame(tty)[2]!;
  assert.match(plain(row), /^web\s+UP\s+7ms\s+40\.0%\s+1\s+\d\d:\d\d:\d\d back after 1m 01s$/);
  assert.match(plain(lastFrame(tty)[0]!), /1 up, 0 down, 0 pending .*: 0 waiting, 1 failed, 1 dropped$/);

  // A second incident counts.
  view.check('web', fail('HTTP 500', t0 + 63_000));
  view.transition('web', { kind: 'down', at: t0 + 63_000, reason: 'HTTP 500' });
  view.flush();
  assert.match(plain(lastFrame(tty)[2]!), /^web\s+DOWN\s+1\.00s\s+33\.3%\s+2\s/);
  view.close();
});

test('throttled: at most maxFps frames a second, whatever the rate of events', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, maxFps: 4 });
  view.started(targets('a', 'b'), 'm:1', 'json');
  for (let i = 0; i < 1000; i++) view.check(i % 2 ? 'a' : 'b', ok(i % 50));
  assert.equal(frameCount(tty), 0, 'nothing is drawn synchronously');
  t.mock.timers.tick(0);
  assert.equal(frameCount(tty), 1, 'the first frame comes at once');
  for (let i = 0; i < 1000; i++) view.check('a', ok(3));
  t.mock.timers.tick(249);
  assert.equal(frameCount(tty), 1, 'no second frame within 250 ms');
  t.mock.timers.tick(1);
  assert.equal(frameCount(tty), 2);
  t.mock.timers.tick(10_000);
  assert.equal(frameCount(tty), 2, 'no events, no frames');
  view.check('a', ok(3));
  t.mock.timers.tick(0);
  assert.equal(frameCount(tty), 3, 'after a quiet spell, at once again');
  view.close();
  view.check('a', ok(3));
  t.mock.timers.tick(1000);
  assert.equal(frameCount(tty), 3, 'nothing after close');
});

test('the redraw timer never keeps the process alive', () => {
  const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timeouts();
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, maxFps: 0.5 });
  view.check('web', ok(1));
  view.flush();
  view.check('web', ok(1)); // a frame is now due in 2 s
  assert.equal(timeouts(), before, 'the pending redraw timer is unref\'d');
  view.close();
});

test('fits the width: every line is cut to columns - 1, long names end in an ellipsis', () => {
  const tty = new FakeTTY(40, 24);
  const view = createTableView({ out: tty });
  const long = `http://${'very-long-host-name.'.repeat(5)}example/`;
  view.started(targets(long, 'web'), 'insidemailer:33333', 'json');
  view.check(long, fail('connect timeout after 1000ms'));
  view.check('web', ok(1));
  view.flush();
  const lines = lastFrame(tty);
  for (const line of lines) assert.ok([...plain(line)].length <= 39, `fits: ${JSON.stringify(plain(line))}`);
  assert.ok(lines.some((l) => plain(l).includes('…')), 'a cut name ends in an ellipsis');
  // Styled segments are closed even when cut.
  for (const line of lines) assert.equal(line.split(ESC).length % 2, 1, `balanced SGR in ${JSON.stringify(line)}`);
  view.close();
});

test('fits the height: the rows that do not fit are summed up, trouble first', () => {
  const tty = new FakeTTY(100, 8);
  const view = createTableView({ out: tty });
  const names = Array.from({ length: 20 }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  view.started(targets(...names), 'm:1', 'json');
  for (const name of names) view.check(name, ok(2));
  for (const name of ['site-07', 'site-15']) {
    view.check(name, fail('HTTP 502'));
    view.transition(name, { kind: 'down', at: Date.now(), reason: 'HTTP 502' });
  }
  view.check('site-19', fail('HTTP 502'));
  view.flush();
  const lines = lastFrame(tty);
  assert.equal(lines.length, 8, 'exactly the terminal height');
  assert.deepEqual(
    lines.slice(2, 7).map((l) => plain(l).split(/\s+/).slice(0, 2).join(' ')),
    ['site-07 DOWN', 'site-15 DOWN', 'site-19 PENDING', 'site-00 UP', 'site-01 UP'],
  );
  assert.equal(plain(lines[7]!), '+15 more (15 up); enlarge the terminal to see them');

  // sort: 'given' keeps the configured order.
  const given = new FakeTTY(100, 8);
  const v2 = createTableView(given, names, { sort: 'given' });
  v2.check('site-19', fail('HTTP 502'));
  v2.flush();
  const l2 = lastFrame(given);
  assert.equal(plain(l2[2]!).split(/\s+/)[0], 'site-00');
  assert.equal(plain(l2[7]!), '+15 more (15 pending); enlarge the terminal to see them');
  view.close();
  v2.close();
});

test('a resize clears the screen and redraws at the new size', () => {
  const tty = new FakeTTY(100, 24);
  const view = createTableView({ out: tty });
  view.started(targets('web', 'api'), 'insidemailer:33333', 'json');
  view.check('web', ok(1));
  view.flush();
  const before = tty.text.length;
  tty.resize(30, 3);
  view.flush();
  const after = tty.text.slice(before);
  assert.ok(after.startsWith(`${CLEAR_SCREEN}${ESC}H`));
  const lines = lastFrame(tty);
  assert.equal(lines.length, 3);
  for (const line of lines) assert.ok([...plain(line)].length <= 29);
  assert.match(plain(lines[2]!), /^\+2 more/);
  view.close();
  assert.equal(tty.listenerCount('resize'), 0, 'close() removes its resize listener');
});

test('close(): leaves the alternate screen, shows the cursor, prints a plain summary, once', () => {
  const exitHooks = process.listenerCount('exit');
  const tty = new FakeTTY();
  const view: View = createTableView({ out: tty, log: silent });
  view.started(targets('web', 'api'), 'insidemailer:33333', 'json');
  view.check('web', ok(3));
  view.check('api', fail('host not found'));
  view.transition('api', { kind: 'down', at: Date.now(), reason: 'host not found' });
  view.alertQueued({ id: '1', to: 'admin@work', message: 'The service is down!', status: 'down', target: 'api' });
  (view as ReturnType<typeof createTableView>).flush();
  assert.equal(process.listenerCount('exit'), exitHooks + 1, 'an exit hook guards the terminal while drawing');
  const before = tty.text.length;
  view.stopped();
  const tail = tty.text.slice(before);
  assert.ok(tail.startsWith(`${LEAVE_ALT}${SHOW_CURSOR}`));
  const summary = tail.slice(`${LEAVE_ALT}${SHOW_CURSOR}`.length);
  assert.ok(!summary.includes('\x1b'), 'the summary is plain text');
  const lines = summary.trimEnd().split('\n');
  assert.equal(lines[0], 'ch2-agent: 2 targets: 1 up, 1 down, 0 pending; 1 incident; alerts: 1 queued, 0 delivered.');
  assert.match(lines[1]!, /^ {2}web: UP, uptime 100%, 0 incidents, last check 3ms$/);
  assert.match(lines[2]!, /^ {2}api: DOWN since \d\d:\d\d:\d\d \(host not found\), uptime 0\.0%, 1 incident, last check 1\.00s$/);
  assert.equal(process.listenerCount('exit'), exitHooks, 'the exit hook is gone');

  const length = tty.text.length;
  view.stopped();
  view.check('web', ok(1));
  (view as ReturnType<typeof createTableView>).flush();
  assert.equal(tty.text.length, length, 'nothing more after close');
});

test('the summary of many targets lists those not up', () => {
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, alternateScreen: false });
  const names = Array.from({ length: 30 }, (_, i) => `t${i}`);
  view.started(targets(...names), 'm:1', 'json');
  for (const name of names) view.check(name, ok(1));
  view.check('t3', fail('HTTP 500'));
  view.transition('t3', { kind: 'down', at: Date.now(), reason: 'HTTP 500' });
  view.check('t9', fail('HTTP 500'));
  view.flush();
  assert.ok(!tty.text.includes(ENTER_ALT), 'alternateScreen: false draws on the main screen');
  const before = tty.text.length;
  view.close();
  const tail = tty.text.slice(before);
  assert.ok(tail.startsWith(`${RESET}${SHOW_CURSOR}\n`));
  const lines = tail.slice(`${RESET}${SHOW_CURSOR}\n`.length).trimEnd().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^ {2}t3: DOWN since/);
  assert.match(lines[2]!, /^ {2}t9: PENDING since/);
  assert.equal(lines[3], '  ...and 28 more (28 up).');
});

test('summary: false, and a view that never drew, write nothing on close', () => {
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, summary: false });
  view.check('web', ok(1));
  view.close();
  assert.equal(tty.text, '');
});

test('colours off: states without SGR, cursor control kept', () => {
  const tty = new FakeTTY();
  const view = createTableView({ out: tty, color: false });
  view.check('web', ok(1));
  view.check('api', fail('HTTP 500'));
  view.transition('api', { kind: 'down', at: Date.now(), reason: 'HTTP 500' });
  view.flush();
  assert.ok(!/\x1b\[[0-9;]*m/.test(tty.text), 'no SGR sequence');
  assert.ok(tty.text.includes(HIDE_CURSOR));
  view.close();

  const noColor = new FakeTTY() as FakeTTY & { hasColors(): boolean };
  noColor.hasColors = () => false; // what a tty.WriteStream says under NO_COLOR
  const v2 = createTableView({ out: noColor });
  v2.check('web', ok(1));
  v2.flush();
  assert.ok(!/\x1b\[[0-9;]*m/.test(noColor.text));
  v2.close();
});

test('control characters in names and reasons cannot break the frame', () => {
  const tty = new FakeTTY();
  const view = createTableView({ out: tty });
  view.check('evil\x1b[2J\nname', fail('bad\rreason\x07'));
  view.flush();
  const lines = lastFrame(tty);
  assert.equal(lines.length, 3);
  assert.match(plain(lines[2]!), /^evil\?\[2J\?name\s+PENDING .* bad\?reason\?$/);
  view.close();
});

test('a target first seen in an event gets a row; the positional factory takes initial rows', () => {
  const tty = new FakeTTY();
  const view = createTableView(tty, ['a', 'b'], { sort: 'given', title: 'agent' });
  view.check('c', ok(1));
  view.addTarget('d');
  view.addTarget('a');
  view.flush();
  const lines = lastFrame(tty);
  assert.match(plain(lines[0]!), /^agent \| 4 targets: 1 up, 0 down, 3 pending \| alerts: 0 waiting$/);
  assert.deepEqual(
    lines.slice(2).map((l) => plain(l).split(/\s+/)[0]),
    ['a', 'b', 'c', 'd'],
  );
  view.close();
});

test('it plugs into the event seam as a View', () => {
  const tty = new FakeTTY();
  const view: View = createTableView({ out: tty as unknown as NodeJS.WriteStream, log: silent });
  const events = fanOut([view], (_e, err) => assert.fail(err as Error));
  events.started(targets('web'), 'insidemailer:33333', 'json');
  events.check('web', ok(2));
  events.stopped();
  assert.match(tty.text, /ch2-agent: 1 target: 1 up, 0 down, 0 pending/);
});

test('formats', () => {
  assert.equal(formatLatency(0.4), '0ms');
  assert.equal(formatLatency(999.4), '999ms');
  assert.equal(formatLatency(1234), '1.23s');
  assert.equal(formatLatency(12_345), '12.3s');
  assert.equal(formatDuration(850), '850ms');
  assert.equal(formatDuration(3_249), '3.2s');
  assert.equal(formatDuration(245_000), '4m 05s');
  assert.equal(formatDuration(7_380_000), '2h 03m');
  assert.equal(formatDuration(100_800_000), '1d 4h');
});

test('a warning or error stays in the frame under the title, one line, across redraws (P1-12)', () => {
  const tty = new FakeTTY(120, 10);
  const view = createTableView({ out: tty, log: silent, now: () => new Date(2026, 0, 1, 12, 34, 56).getTime() });
  view.started(['web', 'db'], 'mailer:33333', 'json');
  view.flush();
  assert.doesNotMatch(plain(lastFrame(tty).join('\n')), /401/);
  view.problem('Alert not delivered: mailer refused the alert (401 unauthorized);\nset --mailer-token');
  view.flush();
  view.check('web', ok(3));
  view.flush();
  const lines = lastFrame(tty).map(plain);
  assert.match(lines[1] ?? '', /^12:34:56 Alert not delivered: mailer refused the alert \(401 unauthorized\);\s+set --mailer-token/);
  assert.match(lines[2] ?? '', /^TARGET/);
  view.close();
});
