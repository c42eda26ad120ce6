/** The agent bundle with a bad --config file: exit 2 with one line naming the file, the target and the key. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFiles } from '../support/config-files.ts';
import { run } from '../support/process.ts';

const { file } = configFiles('ch2-config-proc-');

const agent = (args: string[], env: Record<string, string> = {}) => run('agent', args, env);

test('the agent exits 2 with one line naming the file, the target and the key', () => {
  const path = file('targets:\n  - name: web\n    url: http://insideweb/\n    interval: soon\n', 'yml');
  const { code, stdout, stderr } = agent(['--config', path]);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] ?? '', new RegExp(`^ch2-agent: config file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: targets\\[0\\] \\("web"\\): "interval": expected a duration`));
});

test('CONFIG_FILE works like --config, and --target with it is refused', () => {
  const path = file('{"targets": [{"url": "tcp://127.0.0.1:1", "interval": "soon"}]}');
  const viaEnv = agent([], { CONFIG_FILE: path });
  assert.equal(viaEnv.code, 2);
  assert.match(viaEnv.stderr, /"interval": expected a duration/);
  const both = agent(['--config', path, '--target', 'http://a/']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--target \(TARGET\) and --config \(CONFIG_FILE\) cannot be combined/);
});
