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
 * docker/compose.yaml is run by compose.test.ts, not again here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { StoredHook } from '../fixtures/smtp-sink/server.ts';
import { example, readmeBlocks, ROOT, type Step, steps, tableFlags } from '../support/readme.ts';
import { follow, startBookPair } from './book-links.ts';
import {
  Cleanup,
  containerIp,
  docker,
  dockerOk,
  http,
  IMAGES,
  type LogBuffer,
  MAILER_STARTED,
  startNetwork,
  startSmtpSink,
  type StartedNetwork,
  SYSTEM_UP,
  TEST_LABEL,
  tcpExchange,
  uniqueName,
  waitUntil,
} from './helpers.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The example's text, after checking that the README shows it. */
function shown(path: string): string {
  assert.ok(
    readmeBlocks().some((b) => b.example === path),
    `${path} is not in the README`,
  );
  return example(path);
}

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

/** The example with `api=<base>` added to the one `notify: <scheme>://…` URL of each scheme given. */
function withApi(text: string, apis: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [scheme, api] of Object.entries(apis)) {
    const re = new RegExp(`^(\\s*-?\\s*notify:\\s*)(${scheme}://\\S+)$`, 'gm');
    assert.equal([...out.matchAll(re)].length, 1, `one ${scheme}:// notify URL in the example`);
    out = out.replace(re, (_, lead: string, url: string) => `${lead}${url}${url.includes('?') ? '&' : '?'}api=${api}`);
  }
  return out;
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
    // Each container's anonymous volumes (the mailer's spool), to check that the clean-up removes them.
    const volumes: string[] = [];
    for (const name of names.names.values()) {
      const r = await dockerOk(['inspect', '-f', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', name]);
      volumes.push(...r.stdout.trim().split(/\s+/).filter(Boolean));
    }
    assert.ok(volumes.length > 0, 'the mailer has a spool volume');
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

  // The mailer examples: one network with ch2/smtp-sink (alias sink), the fake of every service they name.
  let sinkNet: Promise<{ net: StartedNetwork; api: string }> | undefined;
  const sink = (): Promise<{ net: StartedNetwork; api: string }> =>
    (sinkNet ??= (async () => {
      const net = await startNetwork(cleanup);
      return { net, api: (await startSmtpSink(net, cleanup, 'sink')).api };
    })());
  const hooks = async (api: string, keep: (h: StoredHook) => boolean): Promise<StoredHook[]> => {
    const r = await http('GET', `${api}/hooks`);
    assert.equal(r.status, 200);
    return (r.json as StoredHook[]).filter(keep);
  };
  /** A mailer on the sink's network with `mounts` (host path → container path, read-only), its port on 127.0.0.1. */
  const mailerOnSink = async (net: StartedNetwork, mounts: Record<string, string>, args: string[]): Promise<{ url: string; logs: LogBuffer }> => {
    const name = uniqueName('mailer');
    cleanup.names(name);
    await dockerOk([
      'run', '-d', '--label', TEST_LABEL, '--name', name, '--network', net.getName(), '-p', '127.0.0.1::33333',
      ...Object.entries(mounts).flatMap(([from, to]) => ['-v', `${from}:${to}:ro`]),
      IMAGES.mailer, ...args,
    ]);
    const logs = follow(cleanup, name, 'mailer');
    await logs.waitFor(MAILER_STARTED, 20_000);
    const port = (await dockerOk(['port', name, '33333/tcp'])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
    assert.ok(port, 'the mailer\'s port is mapped on 127.0.0.1');
    return { url: `http://${port.trim()}`, logs };
  };
  const postAlert = async (url: string, body: Record<string, unknown>): Promise<string> => {
    const r = await http('POST', `${url}/alerts`, body);
    assert.equal(r.status, 202, r.text);
    return (r.json as { id: string }).id;
  };
  const settled = (url: string): Promise<true> =>
    waitUntil('no deliveries active in the mailer', async () => {
      const h = await http('GET', `${url}/healthz`);
      return (h.json as { deliveriesActive?: number }).deliveriesActive === 0 ? true : undefined;
    }, 15_000, 200);
  const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('the routing config (docs/examples/mailer-channels.yaml): db-* goes to PagerDuty, everything to Slack', { timeout: 60_000 }, async () => {
    const path = 'docs/examples/mailer-channels.yaml';
    const text = withApi(shown(path), { pagerduty: 'http://sink:8025/hooks/pd', slack: 'http://sink:8025/hooks/slack' });
    const routingKey = /pagerduty:\/\/([A-Za-z0-9]+)/.exec(text)?.[1];
    const slackHook = /slack:\/\/hook:([A-Za-z0-9]+)-([A-Za-z0-9]+)-([A-Za-z0-9]+)@webhook/.exec(text)?.slice(1).join('/');
    assert.ok(routingKey && slackHook);
    const { net, api } = await sink();
    const dir = await mkdtemp(join(tmpdir(), 'ch2-readme-'));
    cleanup.defer('remove the mapped config', () => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'mailer.yaml');
    await writeFile(file, text);
    await chmod(file, 0o644); // the image's user reads it
    const mailer = await mailerOnSink(net, { [file]: '/etc/ch2/mailer.yaml' }, ['--config', '/etc/ch2/mailer.yaml']);
    assert.deepEqual(((await http('GET', `${mailer.url}/healthz`)).json as { channels: string[] }).channels, ['log', 'pagerduty', 'slack']);

    const from = mailer.logs.mark();
    const alert = { message: 'The service is down!', to: 'admin@work', status: 'down' };
    const db = await postAlert(mailer.url, { ...alert, target: 'db-1' });
    const web = await postAlert(mailer.url, { ...alert, target: 'web-1' });
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(db)} via pagerduty\\.`), 20_000, from);
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(db)} via slack\\.`), 20_000, from);
    await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(web)} via slack\\.`), 20_000, from);
    await settled(mailer.url);

    // PagerDuty: one trigger, for db-1; nothing about web-1.
    const pd = await hooks(api, (h) => h.name === 'pd/v2/enqueue');
    assert.equal(pd.length, 1, `PagerDuty got ${pd.length} events: ${pd.map((h) => h.body).join('\n')}`);
    const event = JSON.parse(pd[0]!.body) as { routing_key: string; event_action: string; dedup_key: unknown; payload: { summary: string; custom_details: Record<string, unknown> } };
    assert.equal(event.routing_key, routingKey);
    assert.equal(event.event_action, 'trigger');
    assert.ok(typeof event.dedup_key === 'string' && event.dedup_key.length > 0, 'a dedup_key');
    assert.match(event.payload.summary, /\bdb-1\b/);
    assert.equal(event.payload.custom_details.target, 'db-1');
    assert.equal(event.payload.custom_details.alert_id, db);
    assert.ok(!pd[0]!.body.includes('web-1') && !pd[0]!.body.includes(web), 'PagerDuty heard nothing of web-1');

    // Slack: both targets, maybe in one grouped message.
    const slack = await hooks(api, (h) => h.name === `slack/services/${slackHook}`);
    assert.ok(slack.length >= 1 && slack.length <= 2, `Slack got ${slack.length} messages`);
    const titles = slack.map((h) => ((JSON.parse(h.body) as { text: string }).text.split('\n')[0] ?? ''));
    assert.deepEqual(titles.flatMap((t) => [...t.matchAll(/\b(?:db|web)-1\b/g)].map((m) => m[0])).sort(), ['db-1', 'web-1'], titles.join('\n'));
  });

  test('the webhook template (docs/examples/webhook-template.yaml): hostile alert text arrives as valid JSON with the same text', { timeout: 60_000 }, async () => {
    const path = 'docs/examples/webhook-template.yaml';
    const template = shown(path);
    assert.match(template, /"text": "\{\{Status\}\} \{\{target\}\}: \{\{message\}\}"/, 'the fields this test expects');
    const { net, api } = await sink();
    const mailer = await mailerOnSink(net, { [join(ROOT, path)]: '/etc/ch2/template.yaml' }, ['--webhook', 'http://sink:8025/hooks/tpl', '--webhook-template', '/etc/ch2/template.yaml']);

    // Quotes, backslashes, line breaks, braces, mustache tags, JSON injections, unicode (no lone surrogates: UTF-8 has none).
    const hostile = 'q " bs \\ \\" \\\\n \\u0022 nl\ncrlf\r\ntab\t {} {{id}} {{{message}}} {{& reason}} {{#reminder}}x{{/reminder}} "}, "x": "injected", "y": {"' +
      ' \u2028\u2029 é 中文 🙂 </script> ${x}';
    const time = new Date().toISOString();
    const full = { message: `The service is down! ${hostile}`, to: 'admin@work', status: 'down', target: `http://db-1:80/?q=${hostile}`, reason: `ECONNREFUSED ${hostile}`, incident: `inc ${hostile}`, time, downForMs: 61_000, reminder: 2 };
    const bare = { message: `Back: ${hostile}`, to: 'admin@work', status: 'up' };
    const since = Date.now();
    const ids = [await postAlert(mailer.url, full), await postAlert(mailer.url, bare)];
    for (const id of ids) await mailer.logs.waitFor(new RegExp(`Delivered alert ${esc(id)} via webhook\\.`), 20_000);
    await settled(mailer.url);

    const requests = await hooks(api, (h) => h.name === 'tpl');
    const expected: Record<string, unknown>[] = [
      { text: `DOWN ${full.target}: ${full.message}`, status: 'down', reason: full.reason, down_ms: 61_000, incident: full.incident, time, reminder: 2 },
      // No target, reason, outage length, incident, time or reminder: what the template makes of their absence.
      { text: `UP : ${bare.message}`, status: 'up', reason: '', down_ms: null, incident: ids[1], time: '<receivedAt>' },
    ];
    for (const [i, id] of ids.entries()) {
      const mine = requests.filter((h) => h.headers['idempotency-key'] === id);
      assert.equal(mine.length, 1, `one request for alert ${i + 1}`);
      const h = mine[0]!;
      assert.equal(h.method, 'POST');
      assert.equal(h.headers['content-type'], 'application/json');
      assert.equal(h.headers['x-alert-id'], id);
      assert.equal(h.headers['x-source'], 'ch2');
      let body: Record<string, unknown>;
      assert.doesNotThrow(() => (body = JSON.parse(h.body) as Record<string, unknown>), `alert ${i + 1}: the body is not JSON:\n${h.body}`);
      body = JSON.parse(h.body) as Record<string, unknown>;
      if (expected[i]!.time === '<receivedAt>') {
        // The mailer's own time of taking it, when the sender gave none.
        const at = Date.parse(body.time as string);
        assert.ok(at >= since - 1000 && at <= Date.now() + 1000, `time ${String(body.time)}`);
        expected[i]!.time = body.time;
      }
      assert.deepEqual(body, expected[i], `alert ${i + 1}: the fields carry the alert's text as it was sent`);
    }
  });
});
