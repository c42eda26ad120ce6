/** --log-format json: both programs write one pino JSON object per line, secrets scrubbed; the plain format's start lines: the book's, then the channels. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { start, startMailer } from '../support/process.ts';

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('mailer and agent log pino JSON with LOG_FORMAT=json, and no password', async () => {
  const mailer = await startMailer(['--smtp', 'smtp://alice:pa55word@127.0.0.1:1'], { LOG_FORMAT: 'json' });
  const port = mailer.port;
  const agent = start('agent', ['--target', 'http://127.0.0.1:1/', '--mailer', `127.0.0.1:${port}`, '--log-format', 'json']);
  try {
    await mailer.waitFor(/"msg":"CH2 Example Mailer has started\."/);
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => s.end('To: admin@work  Message: json please'));
      s.on('close', () => resolve());
    });
    await mailer.waitFor(/"msg":"Sending email: To: admin@work  Message: json please"/);
    await mailer.waitFor(/"event":"retry"/, 15_000);
    await agent.waitFor(/"msg":"System down: connection refused\."/);
  } finally {
    await Promise.all([mailer.stop(), agent.stop()]);
  }
  const mailerLines = jsonLines(mailer.output());
  assert.ok(mailerLines.every((l) => typeof l.level === 'string' && typeof l.time === 'string' && l.name === 'ch2-mailer'));
  const sending = mailerLines.find((l) => String(l.msg).startsWith('Sending email') && l.message === 'json please');
  assert.equal(sending?.to, 'admin@work');
  assert.equal(sending?.via, 'raw');
  assert.doesNotMatch(mailer.output(), /pa55word/);
  const agentLines = jsonLines(agent.output());
  const down = agentLines.find((l) => l.event === 'check');
  assert.equal(down?.ok, false);
  assert.equal(down?.reason, 'connection refused');
});

test("plain: the mailer's first line is the book's, as it is; the next names the channels", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-start-lines-'));
  const mailer = await startMailer(['--store', dir, '--notify', 'generic+http://127.0.0.1:1/hook']);
  try {
    const lines = mailer.output().split('\n');
    assert.equal(lines[0], 'CH2 Example Mailer has started.');
    assert.equal(lines[1], 'Channels: log, webhook.');
  } finally {
    await mailer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
