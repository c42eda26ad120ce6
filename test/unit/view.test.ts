/** The line view: the book's lines with one target, named lines and a summary with several. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineView, describeTransition } from '../../agent/output/view.ts';
import type { Logger } from '../../shared/logger.ts';

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), output: at('output') };
}

const targets = [
  { name: 'web', url: 'http://insideweb:80/', intervalMs: 1000 },
  { name: 'db', url: 'tcp://db:5432', intervalMs: 1000 },
];

test('one target: "System up." and "System down: <reason>." for every check, as the book prints', () => {
  const log = recorder();
  const view = createLineView(log);
  view.started([targets[0]!], 'insidemailer:33333', 'json');
  view.check('web', { ok: true, status: 200, latencyMs: 2, at: 0 });
  view.check('web', { ok: false, reason: 'connection refused', latencyMs: 1, at: 1 });
  view.check('web', { ok: false, reason: 'connection refused', latencyMs: 1, at: 2, confirm: true });
  view.transition('web', { kind: 'down', at: 2, reason: 'connection refused' });
  view.stopped();
  assert.deepEqual(log.lines, [
    'debug Watching http://insideweb:80/; alerts go to insidemailer:33333 (json).',
    'info System up.',
    'info System down: connection refused.',
    'info System down: connection refused.',
    'output Alert: web is down (connection refused); telling the mailer.',
  ]);
});

test('several targets: state changes, first failures and alerts at info; every check at debug', () => {
  const log = recorder();
  const view = createLineView(log, { several: true, summaryEveryMs: 0 });
  view.started(targets, 'insidemailer:33333', 'json');
  view.check('web', { ok: true, status: 200, latencyMs: 2.4, at: 0 });
  view.check('db', { ok: false, reason: 'connection refused', latencyMs: 1, at: 0 });
  view.check('db', { ok: false, reason: 'connection refused', latencyMs: 1, at: 50, confirm: true });
  view.transition('db', { kind: 'down', at: 50, reason: 'connection refused' });
  view.check('db', { ok: false, reason: 'connection refused', latencyMs: 1, at: 1000 });
  view.transition('db', { kind: 'reminder', at: 61_000, reason: 'connection refused', downForMs: 61_000, count: 1 });
  view.transition('db', { kind: 'up', at: 65_000, downForMs: 65_000 });
  view.stopped();
  assert.deepEqual(log.lines, [
    'info Watching 2 targets; alerts go to insidemailer:33333 (json).',
    'debug web: up (HTTP 200, 2 ms)',
    'info db: check failed: connection refused; confirming.',
    'debug db: confirming check failed: connection refused.',
    'output Alert: db is down (connection refused); telling the mailer.',
    'debug db: down (connection refused, 1 ms)',
    'output Alert: db is still down after 1m 01s (connection refused); reminder 1; telling the mailer.',
    'output Alert: db is up (down for 1m 05s); telling the mailer.',
  ]);
});

test('several targets: a status line every summaryEveryMs, naming what is down; none after stopped()', (t) => {
  // A mocked clock: the interval fires exactly when the test says, never by the machine's load.
  t.mock.timers.enable({ apis: ['setInterval'] });
  const log = recorder();
  const view = createLineView(log, { several: true, summaryEveryMs: 20 });
  view.started(targets, 'm:1', 'json');
  view.check('web', { ok: true, status: 200, latencyMs: 1, at: 0 });
  view.check('db', { ok: false, reason: 'HTTP 503', latencyMs: 1, at: 0 });
  view.transition('db', { kind: 'down', at: 0, reason: 'HTTP 503' });
  const status = () => log.lines.filter((l) => l.startsWith('info Status:'));
  t.mock.timers.tick(19);
  assert.deepEqual(status(), [], 'not before summaryEveryMs');
  t.mock.timers.tick(1);
  assert.deepEqual(status(), ['info Status: 1 of 2 up; down: db; 2 checks (1 failed) since the last status.']);
  t.mock.timers.tick(20);
  assert.equal(status().length, 2, 'again after another summaryEveryMs');
  assert.equal(status()[1], 'info Status: 1 of 2 up; down: db; 0 checks (0 failed) since the last status.');
  view.stopped();
  const after = log.lines.length;
  t.mock.timers.tick(100);
  assert.equal(log.lines.length, after, 'no status line after stopped()');
});

test('describeTransition', () => {
  assert.equal(describeTransition('web', { kind: 'up', at: 0, downForMs: 3210 }), 'web is up (down for 3.2s)');
  assert.equal(describeTransition('web', { kind: 'up', at: 0, downForMs: 850 }), 'web is up (down for 850ms)');
  assert.equal(
    describeTransition('web', { kind: 'reminder', at: 0, reason: 'HTTP 503', downForMs: 2 * 3_600_000 + 3 * 60_000, count: 4 }),
    'web is still down after 2h 03m (HTTP 503); reminder 4',
  );
});
