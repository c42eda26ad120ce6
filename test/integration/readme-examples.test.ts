/**
 * Every example the README shows, run on the built images. The README's blocks
 * are docs/examples/* byte for byte (test/unit/readme-examples.test.ts checks
 * that); this file runs each one. A new example: a new file, its README block,
 * and one test here naming its path.
 *
 * Shell examples run word by word through the docker CLI with three changes, so
 * that a test never touches a user's containers or images: container names get a
 * unique prefix, `ch2/<image>[:latest]` becomes the tag under test
 * (CH2_IMAGE_TAG), and `-it` becomes `-d` (there is no terminal; the `# …`
 * lines under the command are then read from `docker logs`). The `# …` lines
 * under a command are what it must print, in order, as whole lines.
 *
 * The mailer's config and template examples name real services (PagerDuty,
 * Slack, hooks.example); they are mapped the same way onto ch2/smtp-sink's
 * webhook receiver (alias sink): each notify URL gets `?api=http://sink:8025/hooks/<name>`,
 * a --webhook URL is the sink's.
 *
 * docker/compose.yaml is run by compose.test.ts, not again here; the mailer's
 * channel examples (routing, webhook template) by readme-channel-examples.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, shown, type Step, steps, tableFlags } from '../support/readme.ts';
import { follow, startBookPair } from './book-links.ts';
import {
  Cleanup,
  containerIp,
  docker,
  dockerOk,
  IMAGES,
  MAILER_STARTED,
  SYSTEM_UP,
  TEST_LABEL,
  tcpExchange,
  uniqueName,
  waitUntil,
} from './helpers.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');


/** Maps a shell example's container names and images to the test's own. */
class Mapping {
  readonly names = new Map<string, string>();

  constructor(names: readonly string[]) {
    for (const n of names) this.names.set(n, uniqueName(n));
  }

  word(w: string): string {
    const image = /^ch2\/(agent|mailer)(:latest)?$/.exec(w);
    if (image) return IMAGES[image[1] as 'agent' | 'mailer'];
    const link = /^([a-z]+):([a-z]+)$/.exec(w);
    if (link && this.names.has(link[1]!)) return `${this.names.get(link[1]!)}:${link[2]}`;
    return this.names.get(w) ?? w;
  }

  argv(step: Step): string[] {
    const argv = step.argv.slice(1).map((w) => (w === '-it' ? '-d' : this.word(w)));
    // Label what the test starts, so a leak can be found (docker ps -a --filter label=…).
    if (argv[0] === 'run') argv.splice(1, 0, '--label', TEST_LABEL);
    return argv;
  }
}


/** True if `lines` holds `expected` in order (other lines may come between). */
function inOrder(text: string, expected: readonly string[]): boolean {
  let i = 0;
  for (const line of text.split('\n')) if (line === expected[i]) i += 1;
  return i === expected.length;
}

describe('the README on the images', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 60_000 });

  test('the tutorial (docs/examples/tutorial.sh), then its clean-up removes the containers and their volumes', { timeout: 90_000 }, async () => {
    const names = new Mapping(['web', 'mailer', 'agent']);
    cleanup.names(...names.names.values());
    for (const step of steps(shown('docs/examples/tutorial.sh'))) {
      assert.equal(step.argv[0], 'docker', `a tutorial command that is not docker: ${step.argv.join(' ')}`);
      const argv = names.argv(step);
      const r = await dockerOk(argv, { timeoutMs: 30_000 });
      if (step.expect.length === 0) continue;
      // A detached run (-it in the README) or `docker logs`: the shown lines must appear in the container's log.
      const container = argv[0] === 'logs' ? argv[1]! : r.stdout.trim();
      await waitUntil(
        `${step.expect.join(' / ')} in the log of "${step.argv.join(' ')}"`,
        async () => {
          const logs = await docker(['logs', container]);
          return inOrder(`${logs.stdout}${logs.stderr}`, step.expect) ? true : undefined;
        },
        15_000,
        200,
      );
    }
    // Each container's anonymous volumes (the mailer's store), to check that the clean-up removes them.
    const volumes: string[] = [];
    for (const name of names.names.values()) {
      const r = await dockerOk(['inspect', '-f', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', name]);
      volumes.push(...r.stdout.trim().split(/\s+/).filter(Boolean));
    }
    assert.ok(volumes.length > 0, 'the mailer has a store volume');
    for (const step of steps(shown('docs/examples/tutorial-cleanup.sh'))) {
      await dockerOk(names.argv(step), { timeoutMs: 30_000 });
    }
    for (const name of names.names.values()) {
      assert.notEqual((await docker(['container', 'inspect', name])).code, 0, `container ${name} is gone`);
    }
    for (const volume of volumes) {
      assert.notEqual((await docker(['volume', 'inspect', volume])).code, 0, `volume ${volume} is gone`);
    }
  });

  test('--help and --version (docs/examples/agent-help.sh) and the README\'s tables list the same flags', { timeout: 60_000 }, async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const names = new Mapping([]);
    const seen = new Set<string>();
    for (const step of steps(shown('docs/examples/agent-help.sh'))) {
      const argv = names.argv(step);
      const r = await docker(argv, { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${step.argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
      const program = /ch2\/(agent|mailer)/.exec(step.argv.join(' '))?.[1] as 'agent' | 'mailer';
      const flag = step.argv.at(-1);
      seen.add(`${program} ${flag}`);
      if (flag === '--version') {
        assert.equal(r.stdout.trim(), version);
        continue;
      }
      assert.match(r.stdout, new RegExp(`^Usage: ch2-${program} `));
      const help = r.stdout.replace(/\s+/g, ' ');
      const flags = tableFlags(program === 'agent' ? '## The agent: `ch2/agent`' : '## The mailer: `ch2/mailer`', README);
      assert.ok(flags.length > 5, `the README's ${program} table`);
      for (const f of flags) assert.ok(help.includes(` ${f} `) || help.includes(` ${f},`), `${f} (README) is not in ch2/${program} --help`);
      // And the other way: every flag the program has is in the README's tables.
      const options = [...r.stdout.matchAll(/^ {2}(?:-[A-Za-z], )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--help' && f !== '--version');
      for (const f of options) assert.ok(flags.includes(f), `ch2/${program} ${f} is in no README table`);
    }
    assert.deepEqual([...seen].sort(), ['agent --help', 'agent --version', 'mailer --help']);
  });

  test('the config file example (docs/examples/agent-config.yaml) runs in the agent image', { timeout: 60_000 }, async () => {
    const path = 'docs/examples/agent-config.yaml';
    shown(path);
    const { mailerLogs, links } = await startBookPair(cleanup);
    const agent = uniqueName('agent');
    cleanup.names(agent);
    // The example's targets are insideweb (nginx, whose page says "Welcome to nginx") and db (no such host).
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', agent, ...links,
      '-v', `${join(ROOT, path)}:/etc/ch2/agent.yaml:ro`,
      IMAGES.agent, '--config', '/etc/ch2/agent.yaml', '--log-level', 'debug',
    ]);
    const agentLogs = follow(cleanup, agent, 'agent');
    await agentLogs.waitFor(/^Watching 2 targets; /m, 15_000);
    await agentLogs.waitFor(/^web: up \(HTTP 200, \d+ ms\)$/m, 15_000);
    await agentLogs.waitFor(/^Alert: db is down \(host not found\); telling the mailer\.$/m, 15_000);
    await mailerLogs.waitFor(/Sending email: To: admin@work Message: The service is down!/, 15_000);
    assert.doesNotMatch(agentLogs.text, /Alert: web /, 'web matches its bodyContains and maxResponseTime');
  });

  test('a mailer with a token and --no-raw, and an agent that sends it (docs/examples/mailer-token.sh)', { timeout: 60_000 }, async () => {
    const names = new Mapping(['web', 'mailer', 'agent']);
    cleanup.names(...names.names.values());
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', names.word('web'), IMAGES.nginx]);
    const [mailerStep, agentStep, ...rest] = steps(shown('docs/examples/mailer-token.sh'));
    assert.ok(mailerStep && agentStep && rest.length === 0, 'two commands: the mailer, the agent');
    await dockerOk(names.argv(mailerStep));
    const mailer = names.word('mailer');
    const mailerLogs = follow(cleanup, mailer, 'mailer');
    await mailerLogs.waitFor(MAILER_STARTED, 15_000);
    const token = /MAILER_TOKEN=(\S+)/.exec(mailerStep.argv.join(' '))?.[1];
    assert.ok(token);
    // The token guards HTTP, and raw text is refused.
    const url = `http://${await containerIp(mailer)}:33333/alerts`;
    const post = (auth?: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: JSON.stringify({ message: 'by hand', to: 'admin@work' }) });
    assert.equal((await post()).status, 401);
    assert.equal((await post(token)).status, 202);
    await mailerLogs.waitFor(/Sending email: To: admin@work Message: by hand/, 10_000);
    const raw = await tcpExchange(await containerIp(mailer), 33333, 'To: admin@work  Message: raw text');
    assert.ok(raw);
    await mailerLogs.waitFor(/Refused raw alert /, 10_000);
    // The agent's alert goes through with the token; stopping web makes one.
    await dockerOk(names.argv(agentStep));
    const agentLogs = follow(cleanup, names.word('agent'), 'agent');
    await agentLogs.waitFor(SYSTEM_UP, 15_000);
    await dockerOk(['stop', names.word('web')], { timeoutMs: 20_000 });
    await mailerLogs.waitFor(/Sending email: To: oncall@work Message: The service is down!/, 15_000);
    assert.ok(!mailerLogs.text.includes(token) && !agentLogs.text.includes(token), 'the token is in no log line');
  });

  test('a channel module (docs/examples/own-channel.sh): the example module loads in the read-only image; its token is in no log line', { timeout: 60_000 }, async () => {
    const names = new Mapping(['mailer']);
    cleanup.names(...names.names.values());
    const [runStep, logsStep, ...rest] = steps(shown('docs/examples/own-channel.sh'));
    assert.ok(runStep && logsStep && rest.length === 0, 'two commands: the mailer, its log');
    // `-v ./examples/channels:…` names the repository's folder.
    const argv = names.argv(runStep).map((w) => (w.startsWith('./') ? join(ROOT, w.slice(2)) : w));
    await dockerOk(argv);
    const mailer = names.word('mailer');
    await waitUntil('the mailer to start', async () => {
      const logs = await docker(names.argv(logsStep));
      return inOrder(`${logs.stdout}${logs.stderr}`, logsStep.expect) ? true : undefined;
    }, 15_000, 200);
    const health = await fetch(`http://${await containerIp(mailer)}:33333/healthz`);
    assert.deepEqual(((await health.json()) as { channels: string[] }).channels, ['log', 'pager']);
    const logs = await docker(['logs', mailer]);
    const token = /CH2_PAGER_TOKEN=(\S+)/.exec(runStep.argv.join(' '))?.[1];
    assert.ok(token && !`${logs.stdout}${logs.stderr}`.includes(token), 'the token is in no log line');
  });

  test('the README\'s healthcheck command runs in the mailer image', { timeout: 30_000 }, async () => {
    const command = /`([^`]*\bhealthcheck)`/.exec(README)?.[1];
    assert.ok(command, 'the README names the healthcheck command');
    const mailer = uniqueName('mailer');
    cleanup.names(mailer);
    await dockerOk(['run', '-d', '--label', TEST_LABEL, '--name', mailer, IMAGES.mailer]);
    await follow(cleanup, mailer, 'mailer').waitFor(MAILER_STARTED, 15_000);
    const r = await docker(['exec', mailer, ...command.split(/\s+/)], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, `docker exec ${mailer} ${command}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  });
});
