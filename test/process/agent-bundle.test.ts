/**
 * The built bundles' lazy chunks, as shipped: a YAML config (the yaml chunk)
 * and JSON logs (the pino chunk) in dist/agent.mjs, JSON logs in
 * dist/mailer.mjs. Each of these crashed or refused in the bundle while the
 * TypeScript sources worked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runBundle, startBundle } from '../support/bundle.ts';
import { freePort } from '../support/process.ts';

let web: Server;
let webUrl = '';
let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ch2-bundle-'));
  web = createServer((_req, res) => res.end('Welcome to ch2'));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}/`;
});
after(() => {
  web.close();
  rmSync(dir, { recursive: true, force: true });
});

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
}

test('agent bundle: a YAML config file (the README example form) is read and its targets checked', async () => {
  const path = join(dir, 'targets.yaml');
  writeFileSync(path, `# two targets\ndefaults:\n  interval: 1s\n  to: [admin@work]\ntargets:\n  - name: web\n    url: ${webUrl}\n    bodyContains: Welcome\n  - name: db\n    url: tcp://127.0.0.1:1\n`);
  const agent = startBundle('agent', ['--config', path, '--mailer', '127.0.0.1:1', '--view', 'lines']);
  try {
    await agent.waitFor(/Watching 2 targets/);
    await agent.waitFor(/Alert: db is down \(connection refused\)/);
  } finally {
    await agent.stop();
  }
  assert.doesNotMatch(agent.output(), /not valid YAML|is not a function/);
});

test('agent bundle: a YAML syntax error is one line naming the file and the place, exit 2', () => {
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'targets:\n  - url: [unclosed\n');
  const r = runBundle('agent', ['--config', path]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ch2-agent: config file .*bad\.yaml: not valid YAML: .*line \d+/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch(r.stderr, /is not a function/);
});

for (const [how, args, env] of [
  ['--log-format json', ['--log-format', 'json'], {}],
  ['LOG_FORMAT=json', [], { LOG_FORMAT: 'json' }],
] as const) {
  test(`agent bundle: ${how} writes pino JSON lines`, async () => {
    const agent = startBundle('agent', ['--target', webUrl, '--mailer', '127.0.0.1:1', ...args], env);
    try {
      await agent.waitFor(/"msg":"System up\."/);
    } finally {
      await agent.stop();
    }
    assert.equal(agent.stderr(), '');
    const lines = jsonLines(agent.stdout());
    assert.ok(lines.length > 0);
    for (const line of lines) {
      assert.equal(line.name, 'ch2-agent');
      assert.equal(typeof line.time, 'string');
      assert.equal(typeof line.level, 'string');
    }
    assert.equal(lines.find((l) => l.msg === 'System up.')?.ok, true);
  });
}

test('mailer bundle: --log-format json writes pino JSON lines, the Sending email line among them', async () => {
  const port = await freePort();
  const mailer = startBundle('mailer', ['--port', String(port), '--bind', '127.0.0.1', '--log-format', 'json']);
  try {
    await mailer.waitFor(/"msg":"CH2 Example Mailer has started\."/);
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => s.end('To: admin@work  Message: json please'));
      s.on('error', reject);
      s.on('close', () => resolve());
    });
    await mailer.waitFor(/"msg":"Sending email: To: admin@work  Message: json please"/);
  } finally {
    await mailer.stop();
  }
  const lines = jsonLines(mailer.stdout());
  assert.ok(lines.every((l) => l.name === 'ch2-mailer' && typeof l.level === 'string'));
});
