/**
 * A check that finds no file descriptor (EMFILE, ENFILE) has no verdict: the
 * probes say `skipped`, the target monitor feeds nothing to the incident and
 * checks again at the next interval, and the warning line is throttled.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { test } from 'node:test';
import { HttpConnections } from '../../agent/checks/http-connections.ts';
import { createNodeHttpProbe } from '../../agent/checks/http-probe.ts';
import { UndiciConnections } from '../../agent/checks/http-undici.ts';
import type { CheckMode, CheckResult, Probe } from '../../agent/checks/probe.ts';
import { createTcpProbe } from '../../agent/checks/tcp-probe.ts';
import { descriptorBudget } from '../../agent/checks/descriptors.ts';
import type { Transition } from '../../agent/incidents/incident.ts';
import { TargetMonitor } from '../../agent/incidents/target-monitor.ts';
import { createSkipWarning } from '../../agent/output/skip-warning.ts';
import { DEFAULT_SETTINGS, type TargetSpec } from '../../agent/target.ts';

function target(url: string, extra: Partial<TargetSpec> = {}): TargetSpec {
  const u = new URL(url);
  return { ...DEFAULT_SETTINGS, name: u.href, url: u, kind: u.protocol === 'tcp:' ? 'tcp' : 'http', ...extra };
}

/** Every name lookup fails as getaddrinfo does when the process has no descriptor left. */
async function withoutDescriptors<T>(run: () => Promise<T>): Promise<T> {
  const real = dns.lookup;
  (dns as { lookup: unknown }).lookup = (hostname: string, options: unknown, callback?: (err: Error) => void): void => {
    const cb = (typeof options === 'function' ? options : callback) as (err: Error) => void;
    process.nextTick(cb, Object.assign(new Error(`getaddrinfo EMFILE ${hostname}`), { code: 'EMFILE', syscall: 'getaddrinfo', hostname }));
  };
  syncBuiltinESMExports();
  try {
    return await run();
  } finally {
    (dns as { lookup: unknown }).lookup = real;
    syncBuiltinESMExports();
  }
}

test('no descriptor for the lookup: node:http, undici and TCP checks are skipped (no_descriptor), in both modes', async () => {
  const http = target('http://web.test/');
  const connections = new HttpConnections({ backend: 'node' });
  const undici = new UndiciConnections(new Map(), () => {});
  const probes: Array<[string, Probe]> = [
    ['node:http', createNodeHttpProbe(http, connections)],
    ['undici', undici.createProbe(http)],
    ['tcp', createTcpProbe(target('tcp://web.test:5432'))],
  ];
  try {
    await withoutDescriptors(async () => {
      for (const [name, probe] of probes) {
        for (const mode of ['normal', 'confirm'] as const) {
          const result = await probe.check(mode, 250);
          assert.equal(result.skipped, 'no_descriptor', `${name} ${mode}: ${JSON.stringify(result)}`);
          assert.equal(result.ok, false);
          assert.equal(result.reason, 'out of file descriptors (EMFILE)');
        }
      }
    });
  } finally {
    await connections.close();
    await undici.close();
  }
});

/** A target monitor on a probe that answers from a script, with what it reports. */
function scripted(script: Array<'ok' | 'fail' | 'skip'>, extra: Partial<TargetSpec> = {}) {
  const starts: Array<{ at: number; mode: CheckMode }> = [];
  const checks: CheckResult[] = [];
  const skipped: string[] = [];
  const transitions: Transition[] = [];
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const probe: Probe = {
    async check(mode = 'normal') {
      starts.push({ at: performance.now(), mode });
      const step = script[starts.length - 1];
      if (starts.length === script.length) setImmediate(finished);
      const at = Date.now();
      if (step === 'ok') return { ok: true, latencyMs: 1, at };
      if (step === 'fail') return { ok: false, reason: 'connection refused', latencyMs: 1, at };
      return { ok: false, reason: 'out of file descriptors (EMFILE)', skipped: 'no_descriptor', latencyMs: 1, at };
    },
  };
  const monitor = new TargetMonitor({
    spec: target('http://127.0.0.1:1/', { intervalMs: 200, ...extra }),
    probe,
    events: {
      check: (_t, r) => void checks.push(r),
      skipped: (t, reason) => void skipped.push(`${t} ${reason}`),
      transition: (_t, tr) => void transitions.push(tr),
    },
    raise: () => {},
  });
  monitor.start(0);
  return { monitor, starts, checks, skipped, transitions, done };
}

test('checks with no verdict are not failures: a run of them opens no incident', async () => {
  const run = scripted(['skip', 'skip', 'skip', 'skip'], { intervalMs: 100 });
  await run.done;
  run.monitor.stop();
  assert.deepEqual(run.transitions, []);
  assert.equal(run.monitor.state, 'up');
  assert.deepEqual(run.checks, [], 'no check event: only the skipped one');
  assert.deepEqual(run.skipped, Array(4).fill('http://127.0.0.1:1/ no_descriptor'));
});

test('nor successes: fail, no verdict, fail is two failures in a row (threshold 2), down at the second failure', async () => {
  const run = scripted(['fail', 'skip', 'fail']);
  await run.done;
  run.monitor.stop();
  assert.deepEqual(
    run.transitions.map((t) => t.kind),
    ['down'],
  );
  assert.equal(run.checks.length, 2);
  // While down, no verdict does not count toward the success threshold either.
  const down = scripted(['fail', 'fail', 'skip', 'skip'], { intervalMs: 100 });
  await down.done;
  down.monitor.stop();
  assert.equal(down.monitor.state, 'down');
  assert.deepEqual(
    down.transitions.map((t) => t.kind),
    ['down'],
  );
});

test('after a check with no verdict the next comes at the interval, not as a quick confirming retry; the failure still gets confirmed', async () => {
  const run = scripted(['fail', 'skip', 'fail'], { intervalMs: 300 });
  await run.done;
  run.monitor.stop();
  const [first, second, third] = run.starts;
  assert.ok(second!.at - first!.at < 200, `the confirming check came ${Math.round(second!.at - first!.at)}ms after the failure`);
  assert.ok(third!.at - second!.at >= 290, `the check after no verdict came ${Math.round(third!.at - second!.at)}ms after it, before the 300ms interval`);
  assert.deepEqual(
    run.starts.map((s) => s.mode),
    ['normal', 'confirm', 'confirm'],
  );
});

test('the warning: one line at the first check with no verdict, then at most one per period with the count since, none while there are none', async () => {
  const lines: string[] = [];
  let wake: () => void = () => {};
  const log = {
    warn: (line: string) => {
      lines.push(line);
      wake();
    },
  };
  const nextLine = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  const budget = descriptorBudget(Array.from({ length: 1000 }, (_, i) => target(`http://127.0.0.1:8080/${i}`)), () => 256);
  const warning = createSkipWarning(log, budget, 150);
  try {
    warning.skipped!('a', 'no_descriptor');
    for (let i = 0; i < 41; i++) warning.skipped!('b', 'no_descriptor');
    assert.deepEqual(lines, [
      'No file descriptor free (EMFILE/ENFILE): 1 check skipped so far. A skipped check is neither a failure nor a success; ' +
        'its target is checked again at its next interval. Raise the open-file limit (256): docker run --ulimit nofile=1064.',
    ]);
    const started = performance.now();
    await nextLine();
    assert.ok(performance.now() - started >= 140, 'the second line waited for the period');
    assert.match(lines[1]!, /^No file descriptor free \(EMFILE\/ENFILE\): 41 checks skipped in the last 150ms\. /);
    // A period with none prints nothing; the next check with no verdict prints at once again.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(lines.length, 2);
    warning.skipped!('c', 'no_descriptor');
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, /: 1 check skipped in the last 150ms\. /);
  } finally {
    warning.stopped!();
  }
});
