/**
 * docker/compose.yaml brings the tutorial up as one project (unique project
 * name, so it never touches a user's "ch2" project): the agent reports the
 * site up (its reports under the name "agent", read from the host through
 * the mailer's loopback port: any free one here, CH2_MAILER_PORT=), and
 * stopping the web service gets the down alert through the mailer. `down -v`
 * in after().
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Cleanup, dockerOk, followDockerLogs, IMAGES, type LogBuffer, MAILER_STARTED, randomId, run, type RunResult, SYSTEM_UP, waitUntil } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_FILE = 'docker/compose.yaml';

/** `docker compose` (v2) when the CLI has it, else `docker-compose` (v1). */
async function composeCommand(): Promise<[string, string[]]> {
  const v2 = await run('docker', ['compose', 'version'], { timeoutMs: 15_000 });
  if (v2.code === 0) return ['docker', ['compose']];
  const v1 = await run('docker-compose', ['version'], { timeoutMs: 15_000 });
  if (v1.code === 0) return ['docker-compose', []];
  throw new Error(`neither "docker compose" nor "docker-compose" works: ${v2.stderr.trim()} / ${v1.stderr.trim()}`);
}

describe('docker/compose.yaml', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  const project = `ch2it${randomId()}`;
  let compose: (...args: string[]) => Promise<RunResult>;
  const logs = new Map<string, LogBuffer>();

  /** The project's container running `image`. */
  async function containerOf(image: string): Promise<string> {
    const r = await dockerOk(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}}\t{{.Image}}']);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    const found = rows.filter(([, img]) => img === image || `${img}:latest` === image);
    assert.equal(found.length, 1, `want one container of ${image} in project ${project}, have:\n${r.stdout}`);
    return found[0]![0]!;
  }

  before(async () => {
    const [cmd, pre] = await composeCommand();
    // Set and empty: any free host port, so the test never takes a user's 33333.
    compose = (...args) => run(cmd, [...pre, '-f', COMPOSE_FILE, '-p', project, ...args], { cwd: ROOT, timeoutMs: 90_000, env: { CH2_MAILER_PORT: '' } });
    cleanup.defer(`compose -p ${project} down -v`, async () => {
      const r = await compose('down', '-v', '--remove-orphans', '--timeout', '5');
      if (r.code !== 0) throw new Error(`compose down failed: ${r.stderr}`);
    });
    const up = await compose('up', '-d', '--no-build');
    assert.equal(up.code, 0, `compose up failed:\n${up.stderr}`);
    for (const image of [IMAGES.agent, IMAGES.mailer]) {
      const name = await containerOf(image);
      const f = followDockerLogs(name);
      cleanup.defer(`stop docker logs -f ${name}`, f.stop);
      logs.set(image, f.logs);
    }
  }, { timeout: 100_000 });

  after(() => cleanup.run(), { timeout: 60_000 });

  test('up -d: the mailer starts and the agent reports the site up', { timeout: 30_000 }, async () => {
    await logs.get(IMAGES.mailer)!.waitFor(MAILER_STARTED, 15_000);
    await logs.get(IMAGES.agent)!.waitFor(SYSTEM_UP, 20_000);
  });

  test('from the host, on loopback, the hub lists the agent under its stable name', { timeout: 30_000 }, async () => {
    const port = await compose('port', 'mailer', '33333');
    assert.equal(port.code, 0, port.stderr);
    const published = port.stdout.trim();
    assert.match(published, /^127\.0\.0\.1:\d+$/, 'published on loopback only');
    await waitUntil('the agent "agent" in GET /api/v1/agents', async () => {
      const agents = (await (await fetch(`http://${published}/api/v1/agents`)).json()) as Array<{ name: string }>;
      return agents.some((a) => a.name === 'agent') ? true : undefined;
    }, 20_000);
  });

  test('stopping the web service sends the down alert through the mailer', { timeout: 40_000 }, async () => {
    const web = await containerOf(IMAGES.nginx);
    await dockerOk(['stop', web], { timeoutMs: 20_000 });
    const stopped = Date.now();
    const { at } = await logs.get(IMAGES.mailer)!.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000);
    console.log(`  down alert ${at - stopped} ms after the web service stopped`);
  });
});
