/**
 * Your own channel without a rebuild, on the mailer image: `--exec` with a
 * program and `--channel-module` with ES modules, all mounted read-only from
 * test/fixtures/own-channels/ and examples/channels/, the container on a
 * read-only root file system as the image's own user. /state, the only
 * writable mount besides the store, is where the exec program records what it
 * got. The example pager module posts to ch2/smtp-sink's webhook receiver.
 *
 * - an alert is delivered through the exec program (stdin: the webhook's JSON
 *   record; env: minimal, no secret of the mailer's) and the pager module;
 *   the stuck module (a send that never settles) and the boom module (a send
 *   that throws) fail transiently and delay neither;
 * - exit 75 is retried, then delivered; exit 1 is a dead letter with the
 *   first line of the program's stderr;
 * - a module whose create throws stops the mailer at start: exit 2, one line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import {
  Cleanup,
  docker,
  dockerOk,
  followDockerLogs,
  http,
  IMAGES,
  type LogBuffer,
  MAILER_STARTED,
  startNetwork,
  startSmtpSink,
  TEST_LABEL,
  uniqueName,
  waitUntil,
  type StartedNetwork,
} from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/own-channels');
const EXAMPLES = join(ROOT, 'examples/channels');
const TARGET = 'http://insideweb:80/';
const PAGER_TOKEN = 'pg-token-3f9a1c77';
const MODULE_TIMEOUT_S = 3;

describe('own channels: --exec and --channel-module on a read-only mailer', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  const mailer = uniqueName('mailer');
  let net: StartedNetwork;
  let sinkApi: string;
  let state: string;
  let logs: LogBuffer;
  let mailerUrl: string;

  const postAlert = async (body: Record<string, unknown>): Promise<string> => {
    const post = await http('POST', `${mailerUrl}/alerts`, body);
    assert.equal(post.status, 202, post.text);
    return (post.json as { id: string }).id;
  };
  const line = (re: RegExp, from: number, ms = 20_000) => logs.waitFor(re, ms, from);
  const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  before(async () => {
    net = await startNetwork(cleanup);
    const sink = await startSmtpSink(net, cleanup, 'sink');
    sinkApi = sink.api;
    state = await mkdtemp(join(tmpdir(), 'ch2-own-channels-'));
    await chmod(state, 0o777); // the image's user writes here
    cleanup.defer('remove the state folder', () => rm(state, { recursive: true, force: true }));
    cleanup.names(mailer);
    await dockerOk([
      'run', '-d', '--read-only', '--label', TEST_LABEL, '--name', mailer, '--network', net.getName(), '-p', '127.0.0.1::33333',
      '-v', `${FIXTURES}:/ch2:ro`, '-v', `${EXAMPLES}:/modules:ro`, '-v', `${state}:/state`,
      '-e', `CH2_PAGER_TOKEN=${PAGER_TOKEN}`,
      IMAGES.mailer,
      '--exec', '/ch2/notify.sh', '--exec-timeout', '5s',
      '--channel-module', '/modules/pager.mjs', '--channel-module', '/ch2/stuck.mjs', '--channel-module', '/ch2/boom.mjs',
      '--channel-setting', 'pager.url=http://sink:8025/hooks/pager',
      '--module-timeout', `${MODULE_TIMEOUT_S}s`,
    ]);
    const followed = followDockerLogs(mailer);
    cleanup.defer('stop docker logs -f', followed.stop);
    logs = followed.logs;
    await logs.waitFor(MAILER_STARTED, 20_000);
    const port = (await dockerOk(['port', mailer, '33333/tcp'])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
    assert.ok(port, 'the mailer\'s port is mapped on 127.0.0.1');
    mailerUrl = `http://${port.trim()}`;
  }, { timeout: 90_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('the mailer runs on a read-only root file system as the image\'s user, with every channel', async () => {
    assert.equal((await dockerOk(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', mailer])).stdout.trim(), 'true');
    const uid = Number((await dockerOk(['exec', mailer, 'node', '-e', 'console.log(process.getuid())'])).stdout.trim());
    assert.notEqual(uid, 0, 'not root');
    const health = await http('GET', `${mailerUrl}/healthz`);
    assert.deepEqual((health.json as { channels: string[] }).channels, ['log', 'exec', 'pager', 'stuck', 'boom']);
  });

  test('delivered through the exec program and the pager module; the stuck and boom modules delay neither', { timeout: 60_000 }, async () => {
    const from = logs.mark();
    const time = new Date().toISOString();
    const id = await postAlert({ message: 'The service is down!', status: 'down', target: TARGET, reason: 'connection refused', time });
    const viaExec = await line(new RegExp(`Delivered alert ${esc(id)} via exec\\.`), from);
    const viaPager = await line(new RegExp(`Delivered alert ${esc(id)} via pager\\.`), from);
    const stuck = await line(new RegExp(`Alert ${esc(id)} via stuck failed: no answer within ${MODULE_TIMEOUT_S}s \\(module timeout\\); retry 1 in`), from);
    await line(new RegExp(`Alert ${esc(id)} via boom failed: send threw: boom module exploded; retry 1 in`), from);
    const text = logs.text.slice(from);
    assert.ok(viaExec.match.index + from < logs.text.indexOf(stuck.match[0], from), 'exec delivered before the stuck module timed out');
    assert.ok(text.indexOf(viaPager.match[0]) < text.indexOf(stuck.match[0]), 'pager delivered before the stuck module timed out');

    // The exec program read the webhook's JSON record and got a minimal environment.
    const file = id.replace(/[^A-Za-z0-9_-]/g, '_');
    const record = JSON.parse(await readFile(join(state, `${file}.json`), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ ...record, receivedAt: typeof record.receivedAt }, { id, status: 'down', to: 'admin@work', message: 'The service is down!', target: TARGET, reason: 'connection refused', time, receivedAt: 'string' });
    const env = (await readFile(join(state, `${file}.env`), 'utf8')).split('\n').filter((l) => l !== '');
    assert.ok(env.includes(`CH2_ALERT_ID=${id}`) && env.includes('CH2_STATUS=down') && env.includes(`CH2_TARGET=${TARGET}`) && env.includes('CH2_REASON=connection refused'), env.join('\n'));
    const names = env.map((l) => l.split('=')[0]!);
    assert.ok(names.every((n) => ['PATH', 'HOME', 'LANG', 'TZ'].includes(n) || n.startsWith('CH2_')), `unexpected variables: ${names.join(' ')}`);
    assert.ok(!env.some((l) => l.includes(PAGER_TOKEN)), 'the mailer\'s secrets stay out of the program\'s environment');

    // The pager module's request, with its token.
    const hooks = await waitUntil('the pager request at the sink', async () => {
      const r = await http('GET', `${sinkApi}/hooks`);
      const mine = (r.json as StoredHook[]).filter((h) => h.name === 'pager' && h.headers['idempotency-key'] === id);
      return mine.length > 0 ? mine : undefined;
    }, 10_000, 200);
    assert.equal(hooks[0]!.headers.authorization, `Bearer ${PAGER_TOKEN}`);
    assert.deepEqual((hooks[0]!.json as { event: string; key: string }).event, 'trigger');
  });

  test('exit 75 is retried, then delivered', { timeout: 45_000 }, async () => {
    const from = logs.mark();
    const id = await postAlert({ message: 'flaky', target: 'http://flaky:80/' });
    await line(new RegExp(`Alert ${esc(id)} via exec failed: pager busy, try later; retry 1 in`), from);
    await line(new RegExp(`Delivered alert ${esc(id)} via exec\\.`), from, 30_000);
    assert.equal(logs.count(new RegExp(`Alert ${esc(id)} via exec failed`), from), 1, 'one failed attempt');
  });

  test('exit 1 is a dead letter with the first line of the program\'s stderr', { timeout: 30_000 }, async () => {
    const from = logs.mark();
    const id = await postAlert({ message: 'fail', target: 'http://fail:80/' });
    await line(new RegExp(`Alert ${esc(id)} not delivered via exec \\(dead letter\\): pager refused: bad routing key$`, 'm'), from);
    assert.doesNotMatch(logs.text.slice(from), new RegExp(`Alert ${esc(id)} via exec failed`), 'not retried');
    assert.doesNotMatch(logs.text.slice(from), /a second line nobody needs/);
  });

  test('the pager module\'s token never reaches the mailer\'s log', () => {
    assert.match(logs.text, /pager: posting alerts to http:\/\/sink:8025/);
    assert.ok(!logs.text.includes(PAGER_TOKEN), `the token is in the log:\n${logs.tail()}`);
  });

  test('a module whose create throws, a bad module file, a missing program: exit 2 with one line', { timeout: 60_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['--channel-module', '/ch2/broken.mjs'], /^channel broken \(module \/ch2\/broken\.mjs\): its create failed: endpoint: required \(got 0 settings\)\.$/],
      [['--channel-module', '/ch2/notify.sh'], /^ch2-mailer: --channel-module \/ch2\/notify\.sh: expected an ES module file ending \.mjs or \.js\.$/],
      [['--channel-setting', 'pagr.url=http://x/'], /^ch2-mailer: --channel-setting pagr\.url: no --channel-module has the kind 'pagr' \(none is loaded\)\.$/],
      [['--exec', '/ch2/missing.sh'], /^ch2-mailer: .*\/ch2\/missing\.sh does not exist/],
    ];
    for (const [args, re] of cases) {
      const r = await docker(['run', '--rm', '--read-only', '--label', TEST_LABEL, '-v', `${FIXTURES}:/ch2:ro`, IMAGES.mailer, ...args], { timeoutMs: 30_000 });
      const out = `${r.stdout}${r.stderr}`.trim();
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${out}`);
      assert.equal(out.split('\n').length, 1, `one line: ${out}`);
      assert.match(out, re);
    }
  });
});
