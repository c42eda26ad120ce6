/**
 * The durable spool on a real folder: what put() acknowledges is on disk,
 * a reopened spool resumes what was unfinished and remembers what was done,
 * damaged records are quarantined without stopping the others, dead letters
 * are kept, and compaction keeps the state.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, test } from 'node:test';
import { decodeLine, encodeLine, JournalWriter } from '../../mailer/store/journal.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import { SpoolOutbox } from '../../mailer/store/spool.ts';
import { createLogger } from '../../shared/logger.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ch2-spool-test-'));
  dirs.push(dir);
  return dir;
}

async function logger() {
  const err = new PassThrough();
  let text = '';
  err.on('data', (c: Buffer) => (text += c.toString()));
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err });
  return { log, read: () => text };
}

function item(id: string, message = 'The service is down!'): QueuedAlert {
  return { alert: { id, to: 'admin@work', message, status: 'down', target: 'http://insideweb:80/' }, line: `To: admin@work Message: ${message}`, via: 'json', receivedAt: 1_700_000_000_000 };
}

test('journal lines carry a checksum that catches torn and altered records', () => {
  const line = encodeLine({ t: 'put', id: 'x' }).trimEnd();
  assert.deepEqual(decodeLine(line), { ok: true, record: { t: 'put', id: 'x' } });
  assert.equal(decodeLine(line.slice(0, -3)).ok, false);
  assert.equal(decodeLine(line.replace('"x"', '"y"')).ok, false);
  assert.equal(decodeLine('hello').ok, false);
});

test('an acknowledged put is in the journal on disk', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const { outbox } = await SpoolOutbox.open({ dir, log });
  await Promise.all(Array.from({ length: 200 }, (_, i) => outbox.put(item(`a${i}`), ['log', 'smtp'])));
  const text = readFileSync(join(dir, 'journal.log'), 'utf8');
  for (let i = 0; i < 200; i++) assert.ok(text.includes(`"id":"a${i}"`), `a${i} on disk`);
  assert.equal(outbox.unfinished().length, 200);
  await outbox.close();
});

test('a reopened spool resumes unfinished deliveries and remembers finished ids', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const first = (await SpoolOutbox.open({ dir, log })).outbox;
  await first.put(item('done'), ['log', 'smtp']);
  await first.put(item('half'), ['log', 'smtp']);
  await first.put(item('new'), ['log', 'smtp']);
  first.settle('done', 'log', 'delivered');
  first.settle('done', 'smtp', 'delivered');
  first.settle('half', 'log', 'delivered');
  first.attempted('half', 'smtp', 'SMTP 451: try later');
  await first.close();

  const { outbox: second, summary } = await SpoolOutbox.open({ dir, log });
  assert.deepEqual(summary, { resumed: 2, remembered: 1, quarantined: 0 });
  assert.ok(second.has('done') && second.has('half') && second.has('new'));
  assert.equal(second.get('done'), undefined, 'finished alerts are not resumed');
  assert.deepEqual(second.get('half')?.channels, {
    log: { state: 'delivered', attempts: 1 },
    smtp: { state: 'pending', attempts: 1, error: 'SMTP 451: try later' },
  });
  assert.deepEqual(second.get('new')?.item, item('new'));
  assert.deepEqual(second.unfinished().map((r) => r.item.alert.id), ['half', 'new']);
  await second.close();
});

test('damaged and torn records are quarantined with a log line; the others survive', async () => {
  const dir = tempDir();
  const { log, read } = await logger();
  const first = (await SpoolOutbox.open({ dir, log })).outbox;
  await first.put(item('ok1'), ['log']);
  await first.put(item('bad'), ['log']);
  await first.put(item('ok2'), ['log']);
  await first.close();
  const path = join(dir, 'journal.log');
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"bad"', '"b4d"'); // a flipped byte: checksum no longer matches
  writeFileSync(path, lines.join('\n'));
  appendFileSync(path, '1234abcd {"t":"put","item":{"al'); // a write torn by a crash

  const { outbox, summary } = await SpoolOutbox.open({ dir, log });
  assert.equal(summary.quarantined, 2);
  assert.deepEqual(outbox.unfinished().map((r) => r.item.alert.id), ['ok1', 'ok2']);
  const [name] = readdirSync(join(dir, 'quarantine'));
  const kept = readFileSync(join(dir, 'quarantine', name!), 'utf8');
  assert.match(kept, /"b4d"/);
  assert.match(kept, /\{"al$/m);
  assert.match(read(), /quarantined journal line 2 \(checksum mismatch/);
  assert.match(read(), /quarantined journal line 4/);
  // The journal was rewritten without them: a third open finds nothing damaged.
  await outbox.close();
  assert.equal((await SpoolOutbox.open({ dir, log })).summary.quarantined, 0);
});

test('a dead-lettered alert is kept in dead/ with its reason and listed newest first', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const first = (await SpoolOutbox.open({ dir, log })).outbox;
  await first.put(item('d1'), ['log', 'webhook']);
  first.settle('d1', 'log', 'delivered');
  first.settle('d1', 'webhook', 'dead', 'HTTP 400: bad payload');
  await first.close();
  const file = JSON.parse(readFileSync(join(dir, 'dead', 'd1.json'), 'utf8'));
  assert.equal(file.alert.id, 'd1');
  assert.deepEqual(file.channels.webhook, { state: 'dead', attempts: 1, error: 'HTTP 400: bad payload' });

  const { outbox } = await SpoolOutbox.open({ dir, log });
  assert.ok(outbox.has('d1'));
  assert.equal(outbox.get('d1'), undefined);
  const listed = await outbox.dead(10);
  assert.equal(listed.total, 1);
  assert.equal(listed.letters[0]?.channels.webhook?.error, 'HTTP 400: bad payload');
  await outbox.close();
});

test('a dead letter whose file a crash prevented is written again on open', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const first = (await SpoolOutbox.open({ dir, log })).outbox;
  await first.put(item('d2'), ['webhook']);
  first.settle('d2', 'webhook', 'dead', 'HTTP 410: gone');
  await first.close();
  rmSync(join(dir, 'dead', 'd2.json'));
  const { outbox } = await SpoolOutbox.open({ dir, log });
  assert.ok(existsSync(join(dir, 'dead', 'd2.json')));
  await outbox.close();
});

test('compaction keeps the state and shrinks the journal', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const { outbox } = await SpoolOutbox.open({ dir, log, compactBytes: 20_000 });
  for (let i = 0; i < 300; i++) {
    await outbox.put(item(`c${i}`, 'x'.repeat(50)), ['log']);
    if (i % 3 !== 0) outbox.settle(`c${i}`, 'log', 'delivered');
  }
  await outbox.close();
  assert.ok(statSync(join(dir, 'journal.log')).size < 40_000, 'the journal was compacted');
  const { outbox: again, summary } = await SpoolOutbox.open({ dir, log });
  assert.equal(summary.resumed, 100);
  assert.equal(summary.remembered, 200);
  for (let i = 0; i < 300; i++) assert.ok(again.has(`c${i}`));
  await again.close();
});

test('a dead letter is brought up to date as the alert\'s other channels settle', async () => {
  const dir = tempDir();
  const { log } = await logger();
  const { outbox } = await SpoolOutbox.open({ dir, log });
  await outbox.put(item('d3'), ['webhook', 'smtp']);
  outbox.settle('d3', 'webhook', 'dead', 'HTTP 400: bad');
  outbox.settle('d3', 'smtp', 'delivered');
  await outbox.close();
  const file = JSON.parse(readFileSync(join(dir, 'dead', 'd3.json'), 'utf8'));
  assert.equal(file.channels.webhook.state, 'dead');
  assert.equal(file.channels.smtp.state, 'delivered');
});

test('journal: an urgent record is in the file when append returns; others follow at the end of the turn', async () => {
  const path = join(tempDir(), 'j.log');
  const journal = await JournalWriter.open(path);
  const later = journal.append({ t: 'set', n: 1 });
  assert.doesNotMatch(readFileSync(path, 'utf8'), /"n":1/, 'a plain record waits for the end of the turn');
  const now = journal.append({ t: 'set', n: 2 }, true);
  assert.match(readFileSync(path, 'utf8'), /"n":1[\s\S]*"n":2/, 'an urgent record, and what was queued before it, is written at once, in order');
  await Promise.all([later, now]);
  await journal.close();
});
