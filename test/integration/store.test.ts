/**
 * The store of the real ch2/mailer image: one mailer per store (a second on
 * the same named volume exits 2 with the "in use" line while the first goes
 * on), what was acknowledged survives a restart, a fresh volume elsewhere is
 * refused with the hint, and a full disk (a 2 MB tmpfs mounted on the host
 * and bind-mounted, so it outlives the container's restart) gets 503 and a
 * degraded health check, then 202 again by itself once space is freed, with
 * every 202 delivered and remembered across a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Cleanup, containerIp, docker, dockerOk, http, IMAGES, MAILER_STARTED, randomId, run, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

const STORE_PATH = '/var/lib/ch2-mailer';

async function startMailer(name: string, mount: string[], args: string[] = []): Promise<string> {
  await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, ...mount, IMAGES.mailer, ...args]);
  await waitUntil(`${name} to start`, async () => (MAILER_STARTED.test((await docker(['logs', name])).stdout) ? true : undefined), 20_000);
  return `http://${await containerIp(name)}:33333`;
}

async function post(base: string, id: string): Promise<number> {
  try {
    return (await http('POST', `${base}/alerts`, { id, to: 'admin@work', message: `store test ${id}` }, { timeoutMs: 5_000 })).status;
  } catch {
    return 0;
  }
}

async function startedCount(name: string): Promise<number> {
  return (await docker(['logs', name])).stdout.match(/CH2 Example Mailer has started\./g)?.length ?? 0;
}

async function restart(name: string): Promise<string> {
  const before = await startedCount(name);
  await dockerOk(['restart', '-t', '5', name]);
  await waitUntil(`${name} to start again`, async () => ((await startedCount(name)) > before ? true : undefined), 20_000);
  return `http://${await containerIp(name)}:33333`;
}

describe('the store of the mailer image', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test('a second mailer on the same named volume exits 2 saying the store is in use; the first goes on and keeps what it acknowledged', async () => {
    const volume = `ch2it-${randomId()}-store`;
    const first = uniqueName('mailer-a');
    const second = uniqueName('mailer-b');
    await dockerOk(['volume', 'create', '--label', TEST_LABEL, volume]);
    cleanup.defer(`docker volume rm ${volume}`, () => docker(['volume', 'rm', '-f', volume]));
    cleanup.names(first, second);
    const url = await startMailer(first, ['-v', `${volume}:${STORE_PATH}`]);
    const ids = Array.from({ length: 40 }, () => randomUUID());
    for (const id of ids.slice(0, 20)) assert.equal(await post(url, id), 202);

    const r = await docker(['run', '--name', second, '--label', TEST_LABEL, '-v', `${volume}:${STORE_PATH}`, IMAGES.mailer], { timeoutMs: 20_000 });
    assert.equal(r.code, 2, `the second mailer exits 2 (stdout: ${r.stdout} stderr: ${r.stderr})`);
    assert.ok(r.ms < 10_000, `it stops within a few seconds (${Math.round(r.ms)} ms)`);
    const hostname = (await dockerOk(['inspect', '-f', '{{.Config.Hostname}}', first])).stdout.trim();
    const lines = (r.stdout + r.stderr).trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${lines.join(' | ')}`);
    assert.match(lines[0]!, new RegExp(`store ${STORE_PATH} is in use by another mailer \\(host ${hostname}, pid 1, since `));
    assert.doesNotMatch(r.stderr, /ExperimentalWarning/);

    for (const id of ids.slice(20)) assert.equal(await post(url, id), 202, 'the first mailer still acknowledges');
    const again = await restart(first);
    for (const id of ids) {
      const answer = await http('POST', `${again}/alerts`, { id, to: 'admin@work', message: 'resent' });
      assert.deepEqual([answer.status, (answer.json as { duplicate?: boolean }).duplicate], [202, true], `${id} remembered across the restart`);
    }
    const health = await docker(['exec', first, 'ch2-mailer', 'healthcheck']);
    assert.equal(health.code, 0, `the README's ch2-mailer healthcheck works: ${health.stdout}${health.stderr}`);
  });

  test('a fresh named volume mounted elsewhere is refused with exit 2 and the fix', async () => {
    const volume = `ch2it-${randomId()}-other`;
    await dockerOk(['volume', 'create', '--label', TEST_LABEL, volume]);
    cleanup.defer(`docker volume rm ${volume}`, () => docker(['volume', 'rm', '-f', volume]));
    const r = await docker(['run', '--rm', '--label', TEST_LABEL, '-v', `${volume}:/data`, IMAGES.mailer, '--store', '/data/store'], { timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Cannot use the store \/data\/store: .*mount it at \/var\/lib\/ch2-mailer .* or chown it to 1000/);
  });

  test('on a full disk: 503 and a degraded health check; 202 again once space is freed; every 202 delivered and remembered across a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ch2it-fullfs-'));
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,uid=1000,gid=1000,mode=0755', 'tmpfs', dir]);
    if (mounted.code !== 0) {
      rmSync(dir, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here (${mounted.stderr.trim()}): needs root on the Docker host`);
      return;
    }
    cleanup.defer(`umount ${dir}`, async () => {
      await run('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const name = uniqueName('mailer-full');
    cleanup.names(name);
    const url = await startMailer(name, ['--mount', `type=bind,source=${dir},destination=${STORE_PATH}`]);
    const accepted: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = randomUUID();
      if ((await post(url, id)) === 202) accepted.push(id);
    }
    assert.equal(accepted.length, 20);
    // Fill what is left of the 2 MB with a ballast file.
    const ballast = join(dir, 'ballast');
    const fd = openSync(ballast, 'w');
    const block = Buffer.alloc(4096, 1);
    try {
      for (;;) writeSync(fd, block);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    let refused = 0;
    for (let i = 0; i < 400 && refused < 5; i++) {
      const id = randomUUID();
      const status = await post(url, id);
      if (status === 202) accepted.push(id);
      else {
        assert.equal(status, 503, 'a full store answers 503');
        refused += 1;
      }
    }
    assert.equal(refused, 5, 'alerts are refused once the disk is full');
    const answer = await http('POST', `${url}/alerts`, { to: 'admin@work', message: 'while full' });
    assert.equal(answer.status, 503);
    assert.ok(Number(answer.headers.get('retry-after')) > 0, 'with Retry-After');
    const health = await http('GET', `${url}/healthz`);
    assert.equal(health.status, 503);
    assert.equal((health.json as { status: string }).status, 'degraded');
    assert.equal((await docker(['exec', name, 'ch2-mailer', 'healthcheck'])).code, 1, "the image's HEALTHCHECK command reports it");

    unlinkSync(ballast);
    const back = await waitUntil('a 202 once space is back', async () => {
      const id = randomUUID();
      return (await post(url, id)) === 202 ? id : undefined;
    }, 10_000, 200);
    accepted.push(back);
    await waitUntil('healthz ok again', async () => ((await http('GET', `${url}/healthz`)).status === 200 ? true : undefined), 5_000);

    const logs = async (): Promise<string> => (await docker(['logs', name])).stdout;
    await waitUntil('every 202 delivered', async () => {
      const text = await logs();
      return accepted.every((id) => text.includes(`store test ${id}`)) ? true : undefined;
    }, 10_000, 200);
    const again = await restart(name);
    for (const id of accepted) {
      const r = await http('POST', `${again}/alerts`, { id, to: 'admin@work', message: 'resent' });
      assert.equal((r.json as { duplicate?: boolean }).duplicate, true, `${id} remembered across the restart`);
    }
  });
});
