/**
 * What the runtime images are (issue 18, item 2): ch2/agent and ch2/mailer FROM scratch,
 * with Node 24, the libraries it needs, a static busybox and no package manager.
 *
 * - each image weighs at most 120 MB (`docker image inspect`; 219 / 216 MB on
 *   node:24-bookworm-slim);
 * - no npm, npx, apt-get, dpkg or apk on the PATH, and no npm package on disk;
 * - node:sqlite (a WAL database in /tmp), crypto and TLS (a server and a client
 *   in the image, with a certificate made here) work as the image's user;
 * - an exec channel written as a shell script runs (busybox sh);
 * - the mailer's HEALTHCHECK checks each second from the start, so a container is
 *   healthy at the first check after the mailer is ready (the ~2 s figure is
 *   `npm run bench -- footprint`'s, not a timed test's).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cleanup, docker, dockerOk, followDockerLogs, http, IMAGES, MAILER_STARTED, run, TEST_LABEL, uniqueName, waitUntil } from './helpers.ts';

const MAX_BYTES = 120_000_000;
const HEALTHY_WITHIN_MS = 2_000;

/** `node -e script` in `image`, as the image's user, with extra docker run arguments. */
function nodeIn(image: string, script: string, extra: string[] = []): ReturnType<typeof docker> {
  return docker(['run', '--rm', '--label', TEST_LABEL, ...extra, '--entrypoint', 'node', image, '-e', script]);
}

describe('the runtime images', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ch2-image-runtime-'));
    await chmod(dir, 0o777); // the image's user writes here
    cleanup.defer('remove the work folder', () => rm(dir, { recursive: true, force: true }));
  });
  after(() => cleanup.run());

  for (const image of [IMAGES.agent, IMAGES.mailer]) {
    test(`${image} weighs at most ${MAX_BYTES / 1e6} MB`, async () => {
      const bytes = Number((await dockerOk(['image', 'inspect', '-f', '{{.Size}}', image])).stdout.trim());
      assert.ok(bytes <= MAX_BYTES, `${image} is ${(bytes / 1e6).toFixed(1)} MB`);
    });

    test(`${image} has no npm and no package manager`, async () => {
      const r = await dockerOk(['run', '--rm', '--label', TEST_LABEL, '--entrypoint', 'sh', image, '-c',
        'for p in npm npx corepack apt apt-get dpkg dpkg-deb rpm apk yum; do for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do [ -e "$d/$p" ] && echo "$d/$p"; done; done; ls -d /usr/local/lib/node_modules /usr/lib/node_modules /var/lib/dpkg /var/lib/apt 2>/dev/null; true']);
      assert.equal(r.stdout.trim(), '', `found in ${image}:\n${r.stdout}`);
    });

    test(`${image}: node:sqlite, crypto and the CA bundle work as the image's user`, async () => {
      const r = await nodeIn(image, [
        "const { DatabaseSync } = require('node:sqlite');",
        "const db = new DatabaseSync('/tmp/t.db'); db.exec('PRAGMA journal_mode=WAL; CREATE TABLE t (v TEXT)');",
        "db.prepare('INSERT INTO t VALUES (?)').run(require('node:crypto').createHash('sha256').update('ch2').digest('hex'));",
        "console.log(db.prepare('SELECT v FROM t').get().v, process.getuid(), require('node:os').userInfo().username, require('node:tls').rootCertificates.length > 100);",
      ].join(' '), ['-e', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'the CA bundle loads without a warning');
      assert.equal(r.stdout.trim(), `${createHash('sha256').update('ch2').digest('hex')} 1000 node true`);
    });
  }

  test('TLS: a server and a client in the mailer image talk over a certificate made here', async () => {
    const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    assert.equal(made.code, 0, made.stderr);
    await chmod(join(dir, 'key.pem'), 0o644);
    const r = await nodeIn(IMAGES.mailer, [
      "const tls = require('node:tls'); const fs = require('node:fs');",
      "const cert = fs.readFileSync('/certs/cert.pem'); const key = fs.readFileSync('/certs/key.pem');",
      "const server = tls.createServer({ cert, key }, (s) => s.end('hello over ' + s.getProtocol()));",
      "server.listen(0, '127.0.0.1', () => { const c = tls.connect({ port: server.address().port, host: '127.0.0.1', servername: 'localhost', ca: cert }, () => {",
      "  let got = ''; c.on('data', (d) => { got += d; }); c.on('end', () => { console.log(got, c.authorized); server.close(); }); }); });",
    ].join(' '), ['-v', `${dir}:/certs:ro`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^hello over TLSv1\.3 true$/);
  });

  test('an exec channel written as a shell script runs in the mailer image', { timeout: 60_000 }, async () => {
    const script = join(dir, 'notify.sh');
    await writeFile(script, '#!/bin/sh\n# reads the alert on stdin, records it with busybox tools\ncat > "/state/$(printf %s "$CH2_ALERT_ID" | tr -c A-Za-z0-9 _).json"\necho "$CH2_STATUS" >> /state/statuses\n');
    await chmod(script, 0o755);
    const name = uniqueName('mailer');
    cleanup.names(name);
    await dockerOk(['run', '-d', '--read-only', '--label', TEST_LABEL, '--name', name, '-p', '127.0.0.1::33333',
      '-v', `${script}:/plugins/notify.sh:ro`, '-v', `${dir}:/state`, IMAGES.mailer, '--exec', '/plugins/notify.sh']);
    const f = followDockerLogs(name);
    cleanup.defer('stop docker logs -f', f.stop);
    await f.logs.waitFor(MAILER_STARTED, 15_000);
    const port = (await dockerOk(['port', name, '33333/tcp'])).stdout.trim().split('\n')[0]!;
    const post = await http('POST', `http://${port}/alerts`, { message: 'The service is down!', id: 'shell-1', status: 'down' });
    assert.equal(post.status, 202, post.text);
    await f.logs.waitFor(/Delivered alert shell-1 via exec\./, 15_000);
    const record = JSON.parse(await readFile(join(dir, 'shell_1.json'), 'utf8')) as { message?: string };
    assert.equal(record.message, 'The service is down!');
    assert.equal((await readFile(join(dir, 'statuses'), 'utf8')).trim(), 'down');
  });

  test('a mailer container turns healthy at the first check after it is ready: a check each second, from its start', { timeout: 60_000 }, async () => {
    const name = uniqueName('mailer');
    cleanup.names(name);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', name, IMAGES.mailer]);
    const config = JSON.parse((await dockerOk(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', IMAGES.mailer])).stdout) as { Interval: number; StartPeriod: number };
    assert.ok(config.Interval <= HEALTHY_WITHIN_MS * 1e6 / 2 && config.StartPeriod > 0, `HEALTHCHECK interval ${config.Interval / 1e6} ms, start period ${config.StartPeriod / 1e6} ms`);
    const inspect = async (): Promise<{ StartedAt: string; Health: { Status: string; Log: { Start: string; End: string; ExitCode: number }[] } }> =>
      JSON.parse((await dockerOk(['inspect', '-f', '{{json .State}}', name])).stdout) as never;
    const state = await waitUntil('the container healthy', async () => {
      const s = await inspect();
      return s.Health.Status === 'healthy' ? s : undefined;
    }, 15_000, 100);
    // Docker's own clock for both: the started line's timestamp, and each check's start and end.
    const logs = await dockerOk(['logs', '--timestamps', name]);
    const line = `${logs.stdout}\n${logs.stderr}`.split('\n').find((l) => MAILER_STARTED.test(l));
    assert.ok(line, `no started line in the log:\n${logs.stdout}${logs.stderr}`);
    const readyAt = Date.parse(line.split(' ')[0]!);
    const passed = state.Health.Log.find((l) => l.ExitCode === 0)!;
    const ms = Date.parse(passed.End) - Date.parse(state.StartedAt);
    console.log(`  container start -> ready ${readyAt - Date.parse(state.StartedAt)} ms -> healthy ${ms} ms (${state.Health.Log.filter((l) => l.ExitCode !== 0).length} failed checks before; the goal, about ${HEALTHY_WITHIN_MS} ms, is npm run bench -- footprint's)`);
    // The first check that began once the mailer was ready passed: the healthcheck adds at most one interval.
    const firstAfter = state.Health.Log.find((l) => Date.parse(l.Start) >= readyAt);
    assert.ok(firstAfter && firstAfter.ExitCode === 0, `checks after the mailer was ready: ${JSON.stringify(state.Health.Log)}`);
  });
});
