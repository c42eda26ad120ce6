/** The monitors on loopback: real HTTP servers and ports going away and coming back. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import type { Transition } from '../../agent/incidents/incident.ts';
import { Monitor } from '../../agent/incidents/monitor.ts';
import type { CheckMode, CheckResult, Probe } from '../../agent/checks/probe.ts';
import { TargetMonitor } from '../../agent/incidents/target-monitor.ts';
import type { TargetSpec } from '../../agent/target.ts';
import type { Alert } from '../../shared/alert.ts';
import { freePort } from '../support/process.ts';
import { sampleTarget } from '../support/sample-target.ts';

const ORIGIN = { agent: 'monitor-test', instance: '00000000-0000-4000-8000-000000000000' };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Site {
  server: Server;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

async function site(port: number, handler: Handler = (_q, res) => res.end('ok')): Promise<Site> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Like nginx stopping: the idle kept-alive connections are closed (FIN).
        for (const s of sockets) s.end();
      }),
  };
}

const target = sampleTarget;

/** Runs a Monitor and records what it does. */
function watch(targets: TargetSpec[]) {
  const checks: Array<{ target: string; result: CheckResult }> = [];
  const transitions: Array<{ target: string; t: Transition }> = [];
  const alerts: Alert[] = [];
  let changed: (() => void) | undefined;
  const poke = (): void => changed?.();
  const monitor = new Monitor({
    targets,
    origin: ORIGIN,
    enqueue: (a) => {
      alerts.push(a);
      poke();
    },
    events: {
      check: (t, result) => {
        checks.push({ target: t, result });
        poke();
      },
      transition: (t, tr) => {
        transitions.push({ target: t, t: tr });
        poke();
      },
    },
  });
  /** Resolves when `cond` holds (checked on every event), or rejects after `ms`. */
  const until = (what: string, cond: () => boolean, ms = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        changed = undefined;
        resolve();
      };
      changed = check;
      check();
    });
  const of = (name: string) => checks.filter((c) => c.target === name).map((c) => c.result);
  monitor.start();
  return { monitor, checks, transitions, alerts, until, of };
}

test('a site that stops: the closed connection starts a quick check at once, another quick check confirms it, one down alert', async () => {
  const port = await freePort();
  const web = await site(port);
  const url = `http://127.0.0.1:${port}/`;
  const w = watch([target(url, { intervalMs: 60_000, name: 'web' })]);
  try {
    await w.until('the first good check', () => w.of('web').some((r) => r.ok));
    await web.close();
    // The interval is a minute: only the server's closing of the connection can start the next check.
    await w.until('the down transition', () => w.transitions.length === 1);
    const results = w.of('web');
    const failed = results.filter((r) => !r.ok);
    assert.equal(failed.length, 2, 'failure threshold 2: one failed check and one confirming check');
    assert.equal(failed[0]?.confirm, true, 'the check the close started is quick: a fresh connection, the short connect timeout');
    assert.equal(failed[1]?.confirm, true, 'the second is a confirming check');
    assert.equal(failed[1]?.reason, 'connection refused');
    assert.deepEqual(w.transitions[0]?.t.kind, 'down');
    assert.equal(w.alerts.length, 1);
    assert.deepEqual([w.alerts[0]?.status, w.alerts[0]?.target, w.alerts[0]?.message, w.alerts[0]?.reason], ['down', 'web', 'The service is down!', 'connection refused']);

  } finally {
    await w.monitor.stop();
    await web.close();
  }
});

test('a site that comes back: one up alert with the outage\'s length', async () => {
  const port = await freePort();
  const w = watch([target(`http://127.0.0.1:${port}/`, { intervalMs: 100, name: 'web' })]);
  let web: Site | undefined;
  try {
    await w.until('the down transition', () => w.transitions.length === 1);
    web = await site(port);
    await w.until('the up transition', () => w.transitions.length === 2);
    assert.deepEqual(w.alerts.map((a) => a.status), ['down', 'up']);
    const up = w.alerts[1];
    const t = w.transitions[1]?.t;
    assert.equal(t?.kind, 'up');
    const firstFailure = w.of('web').find((r) => !r.ok)!;
    const firstGood = w.of('web').find((r) => r.ok)!;
    assert.equal(up?.downForMs, firstGood.at - firstFailure.at, 'from the first failed check to the first good one');
    assert.match(up?.message ?? '', /^The service is back up\. Down for \d+(\.\d)?(ms|s)\.$/);
    assert.equal(up?.time, new Date(firstGood.at).toISOString());
    assert.notEqual(up?.id, w.alerts[0]?.id);
  } finally {
    await w.monitor.stop();
    await web?.close();
  }
});

test('a healthy site with random 0-300 ms latency raises nothing', async () => {
  const port = await freePort();
  const web = await site(port, (_q, res) => void setTimeout(() => res.end('ok'), Math.random() * 300));
  const w = watch([target(`http://127.0.0.1:${port}/`, { intervalMs: 100, name: 'jittery' })]);
  try {
    await w.until('30 checks', () => w.of('jittery').length >= 30, 30_000);
    assert.deepEqual(w.of('jittery').filter((r) => !r.ok), []);
    assert.deepEqual(w.transitions, []);
    assert.deepEqual(w.alerts, []);
  } finally {
    await w.monitor.stop();
    await web.close();
  }
});

test('a hanging target delays no other target, even on the same server', async () => {
  const port = await freePort();
  const web = await site(port, (req, res) => {
    if (req.url === '/hang') return; // never answers
    res.end('ok');
  });
  const w = watch([
    target(`http://127.0.0.1:${port}/hang`, { name: 'hang', timeoutMs: 20_000, intervalMs: 100 }),
    target(`http://127.0.0.1:${port}/`, { name: 'fine', intervalMs: 100 }),
  ]);
  try {
    await w.until('10 checks of the good target', () => w.of('fine').length >= 10);
    assert.equal(w.of('hang').length, 0, 'the hanging check is still in flight');
    assert.ok(w.of('fine').every((r) => r.ok));
  } finally {
    await w.monitor.stop();
    web.server.closeAllConnections();
    await web.close();
  }
});

test('a server closing its connection wakes every target on it, once per interval', async () => {
  const port = await freePort();
  // A server that ends the connection after every answer, without saying so: each check
  // would wake the next one at once if nothing held it back.
  const web = await site(port, (_q, res) => {
    res.end('ok', () => res.socket?.end());
  });
  const base = `http://127.0.0.1:${port}`;
  const w = watch([target(`${base}/a`, { name: 'a', intervalMs: 60_000 }), target(`${base}/b`, { name: 'b', intervalMs: 60_000 })]);
  try {
    // 'a' checks first (the first target starts at once, 'b' a second later); the
    // server's closing that connection wakes both: 'a' checks again, 'b' checks early.
    await w.until('an early check of both', () => w.of('a').length >= 2 && w.of('b').length >= 1);
    // Give a runaway loop room to show itself: further checks would come within milliseconds,
    // as every check's connection is closed by the server.
    await new Promise<void>((resolve) => setTimeout(resolve, 500));
    assert.equal(w.of('a').length, 2, 'one regular check and one early check in the interval');
    // 'b': its early check (or, on a slow machine, its first regular one a second in, and then one early check).
    assert.ok(w.of('b').length <= 2, `no runaway: ${w.of('b').length} checks of 'b'`);
    assert.deepEqual(w.transitions, []);
  } finally {
    await w.monitor.stop();
    await web.close();
  }
});

test('reminders while down, capped, then the up alert; several recipients get one alert each', async () => {
  const port = await freePort();
  const w = watch([
    target(`http://127.0.0.1:${port}/`, {
      name: 'web',
      intervalMs: 100,
      failureThreshold: 1,
      remindEveryMs: 1000,
      maxReminders: 2,
      to: ['admin@work', 'oncall@work'],
    }),
  ]);
  let web: Site | undefined;
  try {
    await w.until('two reminders', () => w.transitions.filter((t) => t.t.kind === 'reminder').length === 2, 15_000);
    const downChecks = w.of('web').length;
    // Past the cap: at least another reminder period of failed checks brings nothing new.
    await w.until('another 12 checks', () => w.of('web').length >= downChecks + 12, 15_000);
    assert.deepEqual(w.transitions.map((t) => t.t.kind), ['down', 'reminder', 'reminder']);
    web = await site(port);
    await w.until('the up transition', () => w.transitions.some((t) => t.t.kind === 'up'));
    assert.deepEqual(
      w.alerts.map((a) => [a.to, a.status, a.reminder]),
      [
        ['admin@work', 'down', undefined],
        ['oncall@work', 'down', undefined],
        ['admin@work', 'down', 1],
        ['oncall@work', 'down', 1],
        ['admin@work', 'down', 2],
        ['oncall@work', 'down', 2],
        ['admin@work', 'up', undefined],
        ['oncall@work', 'up', undefined],
      ],
    );
    assert.match(w.alerts[2]?.message ?? '', /^The service is down! Still down after \d+(\.\d)?m?s \(reminder 1 of 2\)\.$/);
    assert.equal(new Set(w.alerts.map((a) => a.id)).size, 8, 'every alert has its own id');
  } finally {
    await w.monitor.stop();
    await web?.close();
  }
});

test('tcp:// targets: up while the port listens, down (confirmed) when it closes', async () => {
  const port = await freePort();
  const web = await site(port);
  const w = watch([target(`tcp://127.0.0.1:${port}`, { name: 'db', intervalMs: 100 })]);
  try {
    await w.until('a good check', () => w.of('db').some((r) => r.ok));
    await web.close();
    await w.until('the down transition', () => w.transitions.length === 1);
    const failed = w.of('db').filter((r) => !r.ok);
    assert.deepEqual(failed.map((r) => [r.reason, r.confirm ?? false]), [
      ['connection refused', false],
      ['connection refused', true],
    ]);
    assert.equal(w.alerts[0]?.target, 'db');
  } finally {
    await w.monitor.stop();
  }
});

test('every reason reaches the events and the alerts as one short line, whatever the probe said', async () => {
  const checks: CheckResult[] = [];
  const alerts: Alert[] = [];
  const ugly = `write EPROTO 40E7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:\n../ssl/record.c:354:\n${'x'.repeat(5000)}`;
  let done: () => void = () => {};
  const downed = new Promise<void>((resolve) => (done = resolve));
  const monitor = new Monitor({
    targets: [target('http://web.invalid/')],
    origin: ORIGIN,
    enqueue: (a) => {
      alerts.push(a);
      done();
    },
    events: { check: (_t, r) => void checks.push({ ...r }) },
    probeFor: () => ({ check: async () => ({ ok: false, reason: ugly, latencyMs: 1, at: Date.now() }) }),
  });
  monitor.start();
  await downed;
  await monitor.stop();
  for (const reason of [...checks.map((c) => c.reason), alerts[0]?.reason]) {
    assert.ok(reason !== undefined);
    assert.doesNotMatch(reason, /[\r\n]/);
    assert.ok(reason.length <= 300, `${reason.length} characters`);
    assert.match(reason, /^write EPROTO 40E7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number: \.\.\/ssl\/record\.c:354: x+…$/);
  }
});

test("after the server closes the connection the next check is quick (fresh connection, short connect timeout), the interval's regular one included", async () => {
  const modes: CheckMode[] = [];
  let wakeAfter: ((n: number) => void) | undefined;
  const probe: Probe = {
    async check(mode = 'normal') {
      modes.push(mode);
      queueMicrotask(() => wakeAfter?.(modes.length));
      return { ok: true, latencyMs: 1, at: Date.now() };
    },
  };
  const monitor = new TargetMonitor({ spec: target('http://127.0.0.1:1/', { intervalMs: 150 }), probe, events: {}, raise: () => {} });
  const fourChecks = new Promise<void>((resolve) => {
    wakeAfter = (n) => {
      // After the first check: a close wakes an early check. After that one: another close, while
      // the interval's early check is used, so the regular check comes at its time, and quick too.
      if (n === 1 || n === 2) setImmediate(() => monitor.wake());
      if (n === 4) resolve();
    };
  });
  monitor.start(0);
  await fourChecks;
  monitor.stop();
  assert.deepEqual(modes, ['normal', 'confirm', 'confirm', 'normal']);
});
