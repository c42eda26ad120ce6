/**
 * ch2/testcontainers (testcontainers/), the module for users' own tests, on
 * the images under test (CH2_IMAGE_TAG):
 * - the issue's code: nginx as "shop", a mailer and an agent on a network, each
 *   ready within 10 s (times printed); `docker stop` of the shop and
 *   waitForAlert({ status: 'down' }) resolves with the alert from the event
 *   stream; a wait for what never comes rejects with what did arrive; alerts(),
 *   silence() and getMetrics() from the host; stop() leaves no store volume;
 * - `await using`, an agent on no network of the mailer's (it goes through the
 *   Docker host's published port) and the SMTP sink's messages();
 * - as a user installs it: a fresh project (mkdtemp) gets the checkout with
 *   `npm install <checkout> testcontainers`, then an `npm pack` tarball, and
 *   runs examples/testcontainers/ there with node --test; its types check.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { GenericContainer, Network, Wait } from 'testcontainers';
import { AlertTimeoutError, Ch2AgentContainer, Ch2MailerContainer, Ch2SmtpSinkContainer } from '../../testcontainers/index.ts';
import { Cleanup, docker, dockerOk, IMAGES, run, waitUntil } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/testcontainers');

async function timedStart<T>(what: string, start: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const started = await start();
  const ms = Date.now() - t0;
  console.log(`  ${what} ready in ${ms} ms`);
  assert.ok(ms < 10_000, `${what} took ${ms} ms to be ready`);
  return started;
}

/** The named volume mounted at the mailer's store. */
async function storeVolume(id: string): Promise<string> {
  const r = await dockerOk(['inspect', '-f', '{{range .Mounts}}{{if eq .Destination "/var/lib/ch2-mailer"}}{{.Name}}{{end}}{{end}}', id]);
  const name = r.stdout.trim();
  assert.ok(name, 'the mailer has a store volume');
  return name;
}

describe('ch2/testcontainers in this checkout', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test("the issue's code: waitForAlert resolves with the down alert; alerts, silence, metrics; stop() removes the volume", { timeout: 90_000 }, async () => {
    const net = await new Network().start();
    cleanup.network(net);
    const web = await timedStart('nginx', () => new GenericContainer(IMAGES.nginx).withNetwork(net).withNetworkAliases('shop').withWaitStrategy(Wait.forHttp('/', 80)).withExposedPorts(80).start());
    cleanup.container(web);
    const mailer = await timedStart('mailer', () => new Ch2MailerContainer(IMAGES.mailer).withNetwork(net).start());
    cleanup.container(mailer);
    const agent = await timedStart('agent', () => new Ch2AgentContainer(IMAGES.agent).withNetwork(net).withTarget('http://shop/').withMailer(mailer).withAgentName('watcher').start());
    cleanup.container(agent);
    const volume = await storeVolume(mailer.getId());

    await web.stop();
    const alert = await mailer.waitForAlert({ status: 'down' }, { timeout: 10_000 });
    assert.equal(alert.target, 'http://shop/');
    assert.equal(alert.to, 'admin@work');
    assert.equal(alert.message, 'The service is down!');
    assert.equal(alert.agent, 'watcher');
    assert.match(alert.incident, /\S/);
    assert.equal(alert.held, false);

    await assert.rejects(mailer.waitForAlert({ status: 'up' }, { timeout: 300 }), (err: unknown) => {
      assert.ok(err instanceof AlertTimeoutError);
      assert.match(err.message, /none matched within 300 ms; 1 alert\(s\) arrived:\n {2}down http:\/\/shop\/ to admin@work: The service is down!/);
      assert.deepEqual(err.alerts.map((a) => a.id), [alert.id]);
      return true;
    });
    // From the host, with the token the module made (GET /alerts is 401 without it).
    assert.equal((await fetch(`${mailer.getUrl()}/alerts`)).status, 401);
    const listed = [...(await mailer.alerts({ state: 'pending' })), ...(await mailer.alerts({ state: 'sent' }))];
    assert.deepEqual(listed.map((a) => a.id), [alert.id]);
    const silence = await mailer.silence({ target: 'http://shop/', for: '1h', comment: 'maintenance' });
    assert.match(silence.id, /\S/);
    assert.match(await agent.getMetrics(), /ch2_target_up\{target="http:\/\/shop\/"\} 0/);

    await mailer.stop();
    const gone = await docker(['volume', 'inspect', volume]);
    assert.notEqual(gone.code, 0, `volume ${volume} is left behind`);
  });

  test('await using; an agent on no network of the mailer reaches it through the host; the SMTP sink has the e-mail', { timeout: 90_000 }, async () => {
    await using net = await new Network().start();
    await using sink = await new Ch2SmtpSinkContainer(IMAGES.smtpSink).withNetwork(net).start();
    await using mailer = await new Ch2MailerContainer(IMAGES.mailer).withNetwork(net).withSmtp(sink).start();
    // Nothing listens on the agent's own port 1: down at its first checks.
    await using agent = await new Ch2AgentContainer(IMAGES.agent).withTarget('tcp://127.0.0.1:1').withMailer(mailer).withInterval('500ms').start();
    assert.deepEqual(agent.getNetworkNames(), ['bridge']);
    const alert = await mailer.waitForAlert({ status: 'down', target: 'tcp://127.0.0.1:1' }, { timeout: 10_000 });
    const mail = await waitUntil('the e-mail in the sink', async () => (await sink.messages()).find((m) => m.text.includes('tcp://127.0.0.1:1')), 10_000);
    assert.deepEqual(mail.to, [alert.to]);
  });
});

/** Copy the example into a fresh project, install ch2 from `source` and testcontainers as a user would, run it. */
async function userProject(source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-user-'));
  try {
    for (const file of readdirSync(EXAMPLE)) copyFileSync(join(EXAMPLE, file), join(dir, file));
    const install = await run('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', source, 'testcontainers'], { cwd: dir, timeoutMs: 240_000 });
    assert.equal(install.code, 0, `npm install ${source} failed:\n${install.stderr}`);
    // Not as a child of this test run (node --test sets NODE_TEST_CONTEXT for its children, which then report to it, not to stdout).
    const tests = await run('env', ['-u', 'NODE_TEST_CONTEXT', process.execPath, '--test'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(tests.code, 0, `the example failed in the user's project:\n${tests.stdout}\n${tests.stderr}`);
    assert.match(tests.stdout, /pass 1\b/);
    // A TypeScript user gets the declarations through the exports map.
    writeFileSync(join(dir, 'types.ts'), "import { Ch2MailerContainer, type StartedCh2MailerContainer } from 'ch2/testcontainers';\nexport const started: Promise<StartedCh2MailerContainer> = new Ch2MailerContainer().withToken('x'.repeat(16)).start();\n");
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2024', strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true }, files: ['types.ts'] }));
    const types = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(types.code, 0, `the declarations do not type-check:\n${types.stdout}${types.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("ch2/testcontainers installed into a user's project", { timeout: 600_000 }, () => {
  test('npm install <checkout> testcontainers, then the example runs', { timeout: 300_000 }, async () => {
    await userProject(ROOT);
  });

  test('from an npm pack tarball', { timeout: 300_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'ch2-pack-'));
    try {
      const pack = await run('npm', ['pack', '--pack-destination', out, '--loglevel=error'], { cwd: ROOT, timeoutMs: 120_000 });
      assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`);
      const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball, `npm pack wrote no tarball: ${pack.stdout}`);
      const list = await run('tar', ['-tzf', join(out, tarball)]);
      assert.match(list.stdout, /^package\/dist\/testcontainers\/index\.js$/m);
      assert.match(list.stdout, /^package\/dist\/testcontainers\/index\.d\.ts$/m);
      assert.doesNotMatch(list.stdout, /^package\/(mailer|agent|test)\//m, 'only the module is packed');
      await userProject(join(out, tarball));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
