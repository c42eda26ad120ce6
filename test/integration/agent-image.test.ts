/**
 * The agent image's lazy chunks, as shipped: a YAML config file and JSON logs
 * (`--log-format json`, `LOG_FORMAT=json`) work in ch2/agent. Both were broken
 * in the image while the TypeScript sources worked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { docker, dockerOk, followDockerLogs, IMAGES, removeContainers, TEST_LABEL, uniqueName } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'ch2-agent-image-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Start the agent image detached with `args`, wait for `pattern` in its logs, then remove it. */
async function agentShows(args: string[], pattern: RegExp, extra: string[] = []): Promise<string> {
  const name = uniqueName('agent');
  try {
    await dockerOk(['run', '-d', '--name', name, '--label', TEST_LABEL, ...extra, IMAGES.agent, ...args]);
    const follow = followDockerLogs(name);
    try {
      await follow.logs.waitFor(pattern, 15_000);
      return follow.logs.text;
    } finally {
      follow.stop();
    }
  } finally {
    await removeContainers(name);
  }
}

test('agent image: a YAML config file is read and its targets checked', async () => {
  const path = join(dir, 'targets.yaml');
  writeFileSync(path, 'defaults:\n  interval: 1s\ntargets:\n  - name: db\n    url: tcp://127.0.0.1:1\n  - name: web\n    url: http://127.0.0.1:1/\n');
  const text = await agentShows(['--config', '/etc/ch2/targets.yaml', '--mailer', '127.0.0.1:1', '--view', 'lines'], /Alert: db is down \(connection refused\)/, [
    '-v',
    `${path}:/etc/ch2/targets.yaml:ro`,
  ]);
  assert.doesNotMatch(text, /not valid YAML|is not a function/);
});

test('agent image: a bad YAML file is one line, exit 2 (the yaml chunk loads)', async () => {
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'targets:\n  - url: [unclosed\n');
  const r = await docker(['run', '--rm', '--label', TEST_LABEL, '-v', `${path}:/etc/ch2/bad.yaml:ro`, IMAGES.agent, '--config', '/etc/ch2/bad.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ch2-agent: config file \/etc\/ch2\/bad\.yaml: not valid YAML: .*line \d+/);
});

for (const [how, args, env] of [
  ['--log-format json', ['--log-format', 'json'], []],
  ['LOG_FORMAT=json', [], ['-e', 'LOG_FORMAT=json']],
] as const) {
  test(`agent image: ${how} writes pino JSON lines`, async () => {
    const text = await agentShows(['--target', 'tcp://127.0.0.1:1', '--mailer', '127.0.0.1:1', ...args], /"msg":"Alert: /, [...env]);
    const lines = text.split('\n').filter((l) => l.trim());
    for (const line of lines) {
      const parsed = JSON.parse(line) as { name?: string; level?: string };
      assert.equal(parsed.name, 'ch2-agent');
      assert.equal(typeof parsed.level, 'string');
    }
  });
}
