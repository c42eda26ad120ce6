/**
 * How the images behave as containers: they run as a non-root user, work on a
 * read-only root file system, stop within a second on `docker stop` (SIGTERM,
 * exit 0; also while alerts are waiting to be retried), print usage on --help
 * (exit 0) and refuse a bad flag or env var with one line on stderr (exit 2).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Cleanup,
  docker,
  dockerOk,
  followDockerLogs,
  http,
  IMAGES,
  type LogBuffer,
  MAILER_STARTED,
  SYSTEM_UP,
  TEST_LABEL,
  uniqueName,
} from './helpers.ts';

const STOP_LIMIT_MS = 1000;

async function mappedPort(name: string, port: number): Promise<string> {
  const r = await dockerOk(['port', name, `${port}/tcp`]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
  assert.ok(line, `no 127.0.0.1 mapping of ${port} in: ${r.stdout}`);
  return line.trim();
}

/** `docker stop` wall time, and the container's exit code afterwards. */
async function timedStop(name: string): Promise<{ ms: number; exitCode: number }> {
  const t0 = Date.now();
  await dockerOk(['stop', name], { timeoutMs: 30_000 });
  const ms = Date.now() - t0;
  const r = await dockerOk(['inspect', '-f', '{{.State.ExitCode}}', name]);
  return { ms, exitCode: Number(r.stdout.trim()) };
}

async function uidIn(name: string): Promise<number> {
  const r = await dockerOk(['exec', name, 'node', '-e', 'console.log(process.getuid())']);
  return Number(r.stdout.trim());
}

describe('container lifecycle: read-only, non-root, prompt stop', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  const web = uniqueName('web');
  const mailer = uniqueName('mailer');
  const agent = uniqueName('agent');
  let mailerLogs: LogBuffer;
  let agentLogs: LogBuffer;

  before(async () => {
    cleanup.names(agent, mailer, web);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', web, IMAGES.nginx]);
    await dockerOk(['run', '-d', '--read-only', '--label', TEST_LABEL, '--name', mailer, '-p', '127.0.0.1::33333', IMAGES.mailer]);
    const m = followDockerLogs(mailer);
    cleanup.defer('stop docker logs -f (mailer)', m.stop);
    mailerLogs = m.logs;
    await mailerLogs.waitFor(MAILER_STARTED, 15_000);
    await dockerOk(['run', '-d', '--read-only', '--label', TEST_LABEL, '--name', agent, '--link', `${web}:insideweb`, '--link', `${mailer}:insidemailer`, IMAGES.agent]);
    const a = followDockerLogs(agent);
    cleanup.defer('stop docker logs -f (agent)', a.stop);
    agentLogs = a.logs;
    // For reading the figures below: what `docker stop` costs on this engine for a
    // process that exits at once on SIGTERM (busybox sleep under docker's init).
    const baseline = uniqueName('baseline');
    cleanup.names(baseline);
    await dockerOk(['run', '-d', '--init', '--label', TEST_LABEL, '--name', baseline, IMAGES.busybox, 'sleep', '600']);
    console.log(`  docker stop baseline (busybox --init): ${(await timedStop(baseline)).ms} ms`);
  }, { timeout: 60_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('both run with --read-only and keep working', { timeout: 30_000 }, async () => {
    const ro = await dockerOk(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', mailer, agent]);
    assert.deepEqual(ro.stdout.trim().split('\n'), ['true', 'true']);
    await agentLogs.waitFor(SYSTEM_UP, 15_000);
    const base = `http://${await mappedPort(mailer, 33333)}`;
    const post = await http('POST', `${base}/alerts`, { message: 'Read-only check.', target: 'http://insideweb:80/' });
    assert.equal(post.status, 202, post.text);
    await mailerLogs.waitFor(/Sending email: To: admin@work Message: Read-only check\./, 10_000);
    const health = await dockerOk(['exec', mailer, 'node', '/app/mailer.mjs', 'healthcheck']);
    assert.equal(health.code, 0);
  });

  test('both run as a non-root user', { timeout: 20_000 }, async () => {
    for (const name of [mailer, agent]) {
      const user = (await dockerOk(['inspect', '-f', '{{.Config.User}}', name])).stdout.trim();
      assert.ok(user !== '' && user !== 'root' && user !== '0', `${name} image user is '${user}'`);
      const uid = await uidIn(name);
      assert.ok(Number.isInteger(uid) && uid !== 0, `${name} runs as uid ${uid}`);
    }
  });

  test(`docker stop of the agent returns in under ${STOP_LIMIT_MS} ms, exit 0`, { timeout: 20_000 }, async () => {
    const { ms, exitCode } = await timedStop(agent);
    console.log(`  docker stop agent: ${ms} ms, exit ${exitCode}`);
    assert.equal(exitCode, 0);
    assert.ok(ms < STOP_LIMIT_MS, `docker stop agent took ${ms} ms`);
  });

  test(`docker stop of the mailer returns in under ${STOP_LIMIT_MS} ms, exit 0`, { timeout: 20_000 }, async () => {
    const { ms, exitCode } = await timedStop(mailer);
    console.log(`  docker stop mailer: ${ms} ms, exit ${exitCode}`);
    assert.equal(exitCode, 0);
    assert.ok(ms < STOP_LIMIT_MS, `docker stop mailer took ${ms} ms`);
  });

  // The image's HEALTHCHECK runs `node /app/mailer.mjs healthcheck` with no arguments:
  // it must still find a mailer started with `--port N`.
  test('the image HEALTHCHECK command passes for a mailer started with --port', {
    timeout: 30_000,
  }, async () => {
    const m = uniqueName('mailer');
    cleanup.names(m);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', m, IMAGES.mailer, '--port', '4000']);
    const f = followDockerLogs(m);
    cleanup.defer('stop docker logs -f (port mailer)', f.stop);
    await f.logs.waitFor(MAILER_STARTED, 15_000);
    const hc = JSON.parse((await dockerOk(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', m])).stdout) as string[];
    assert.equal(hc[0], 'CMD');
    const r = await docker(['exec', m, ...hc.slice(1)]);
    assert.equal(r.code, 0, `the HEALTHCHECK command ${hc.slice(1).join(' ')} failed: ${r.stdout.trim()} ${r.stderr.trim()}`);
  });

  test('the agent stops promptly while its down alert waits for an absent mailer', { timeout: 30_000 }, async () => {
    const lonely = uniqueName('agent');
    cleanup.names(lonely);
    // Loopback target that refuses, mailer address that refuses: the alert is retried with backoff.
    await dockerOk(['run', '-d', '--read-only', '--label', TEST_LABEL, '--name', lonely, IMAGES.agent, '--target', 'http://127.0.0.1:9/', '--mailer', '127.0.0.1:10']);
    const f = followDockerLogs(lonely);
    cleanup.defer('stop docker logs -f (lonely agent)', f.stop);
    await f.logs.waitFor(/retrying in [\d.]+s/, 15_000);
    const { ms, exitCode } = await timedStop(lonely);
    console.log(`  docker stop agent with a pending alert: ${ms} ms, exit ${exitCode}`);
    assert.ok(ms < STOP_LIMIT_MS, `docker stop took ${ms} ms`);
    assert.equal(exitCode, 0);
  });

  test('the mailer stops promptly while an SMTP delivery is being retried', { timeout: 30_000 }, async () => {
    const m = uniqueName('mailer');
    cleanup.names(m);
    await dockerOk(['run', '-d', '--read-only', '--label', TEST_LABEL, '--name', m, '-p', '127.0.0.1::33333', IMAGES.mailer, '--smtp', 'smtp://127.0.0.1:9']);
    const f = followDockerLogs(m);
    cleanup.defer('stop docker logs -f (smtp mailer)', f.stop);
    await f.logs.waitFor(MAILER_STARTED, 15_000);
    const post = await http('POST', `http://${await mappedPort(m, 33333)}/alerts`, { message: 'The service is down!' });
    assert.equal(post.status, 202, post.text);
    await f.logs.waitFor(/via smtp failed: .*retry 1 in/, 15_000);
    const { ms, exitCode } = await timedStop(m);
    console.log(`  docker stop mailer with a delivery being retried: ${ms} ms, exit ${exitCode}`);
    assert.ok(ms < STOP_LIMIT_MS, `docker stop took ${ms} ms`);
    assert.equal(exitCode, 0);
  });
});

describe('command line in the images', { timeout: 120_000 }, () => {
  for (const [image, program] of [
    [IMAGES.agent, 'ch2-agent'],
    [IMAGES.mailer, 'ch2-mailer'],
  ] as const) {
    test(`${image} --help exits 0 and prints usage`, { timeout: 20_000 }, async () => {
      const r = await docker(['run', '--rm', '--label', TEST_LABEL, image, '--help'], { timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: ${program} \\[options\\]`, 'm'));
      assert.match(r.stdout, /-h, --help/);
    });
  }

  const refusals: { image: string; program: string; args: string[]; env?: string; mention: RegExp }[] = [
    { image: IMAGES.agent, program: 'ch2-agent', args: ['--interval', 'nope'], mention: /--interval.*nope/ },
    { image: IMAGES.agent, program: 'ch2-agent', args: [], env: 'INTERVAL=abc', mention: /'abc'.*env 'INTERVAL'/ },
    { image: IMAGES.agent, program: 'ch2-agent', args: ['--no-such-flag'], mention: /--no-such-flag/ },
    { image: IMAGES.mailer, program: 'ch2-mailer', args: [], env: 'PORT=abc', mention: /'abc'.*env 'PORT'/ },
    { image: IMAGES.mailer, program: 'ch2-mailer', args: ['--idle-timeout', 'nope'], mention: /--idle-timeout.*nope/ },
  ];
  for (const { image, program, args, env, mention } of refusals) {
    const shown = [env ? `-e ${env}` : '', image, ...args].filter(Boolean).join(' ');
    test(`docker run ${shown} exits 2 with a one-line reason`, { timeout: 20_000 }, async () => {
      const r = await docker(['run', '--rm', '--label', TEST_LABEL, ...(env ? ['-e', env] : []), image, ...args], { timeoutMs: 15_000 });
      assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `want one line on stderr, got:\n${r.stderr}`);
      assert.match(lines[0]!, new RegExp(`^${program}: `));
      assert.match(lines[0]!, mention);
      assert.equal(r.stdout.trim(), '', 'nothing on stdout');
    });
  }
});
