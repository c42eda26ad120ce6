/**
 * The file channel against a real temporary folder: what an .eml and a .json
 * file hold, the file named by the alert id with no temporary file left, a
 * resend overwriting instead of adding, CR/LF in alert data never making a
 * header, the start-up checks of --file-dir (the process-level one is in
 * test/process/file-channel.test.ts), and how failures are classified.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { alertFileName, createFileChannel, fileChannel, fileDirArg } from '../../../mailer/delivery/channels/file.ts';
import type { Channel } from '../../../mailer/delivery/channels/channel.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { channelsOf, parseChannelOptions } from '../../support/channel-options.ts';

/** The options of a send nobody cancels. */
const SEND = { signal: new AbortController().signal };

let root = '';
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ch2-file-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `d${++n}`);
  await mkdir(dir);
  return dir;
}

function item(overrides: Partial<QueuedAlert['alert']> = {}, receivedAt = Date.parse('2024-05-01T10:00:01.000Z')): QueuedAlert {
  return {
    alert: {
      id: 'f-1',
      to: 'admin@work',
      message: 'The service is down!',
      status: 'down',
      target: 'http://insideweb:80/',
      reason: 'connection refused',
      time: '2024-05-01T10:00:00.000Z',
      ...overrides,
    },
    line: 'To: admin@work Message: The service is down!',
    via: 'json',
    receivedAt,
  };
}

async function withChannel<T>(channel: Channel, fn: (c: Channel) => Promise<T>): Promise<T> {
  try {
    return await fn(channel);
  } finally {
    await channel.close?.();
  }
}

/** Header block and body of a message; headers unfolded, by lower-case name (all values). */
function parseEml(raw: string): { headers: Map<string, string[]>; body: string; head: string } {
  const at = raw.indexOf('\r\n\r\n');
  assert.ok(at > 0, 'a blank CRLF line ends the headers');
  const head = raw.slice(0, at);
  const headers = new Map<string, string[]>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `header line without a name: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { headers, body: raw.slice(at + 4), head };
}

/** RFC 2047 Q/B encoded words, decoded. */
function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) => {
    if (enc.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
    return decodeURIComponent(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => `%${h}`));
  });
}

/** A quoted-printable body, decoded. */
function decodeQp(body: string): string {
  const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => `%${h}`);
  return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
}

test('.eml: an RFC 5322 message with From, To, Subject, Date, Message-ID, X-Ch2-Alert-Id and the text body', async () => {
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir, from: 'ch2 alerts <alerts@work>' }), async (c) => {
    assert.equal(c.name, 'file');
    assert.deepEqual(await c.send(item(), SEND), { ok: true, detail: 'f-1.eml' });
  });
  assert.deepEqual(await readdir(dir), ['f-1.eml']);
  const raw = await readFile(join(dir, 'f-1.eml'), 'utf8');
  assert.doesNotMatch(raw.replace(/\r\n/g, ''), /[\r\n]/, 'every line ends CRLF');
  const { headers, body } = parseEml(raw);
  assert.deepEqual(headers.get('from'), ['ch2 alerts <alerts@work>']);
  assert.deepEqual(headers.get('to'), ['admin@work']);
  assert.equal(decodeWords(headers.get('subject')?.[0] ?? ''), '[DOWN] http://insideweb:80/ — The service is down!');
  assert.deepEqual(headers.get('date'), ['Wed, 01 May 2024 10:00:01 +0000']);
  assert.deepEqual(headers.get('message-id'), ['<f-1@ch2>']);
  assert.deepEqual(headers.get('x-ch2-alert-id'), ['f-1']);
  assert.deepEqual(headers.get('x-ch2-status'), ['down']);
  assert.deepEqual(headers.get('mime-version'), ['1.0']);
  assert.match(headers.get('content-type')?.[0] ?? '', /^text\/plain; charset=utf-8/);
  const text = headers.get('content-transfer-encoding')?.[0] === 'quoted-printable' ? decodeQp(body) : body;
  assert.match(text, /^The service is down!\r?\n/);
  assert.match(text, /Status: +DOWN/);
  assert.match(text, /Target: +http:\/\/insideweb:80\//);
  assert.match(text, /Reason: +connection refused/);
  assert.match(text, /Time: +2024-05-01T10:00:00\.000Z/);
  assert.match(text, /Alert id: +f-1/);
});

test('.eml of a recovery gives the outage length; the default sender is the mailer', async () => {
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir }), (c) => c.send(item({ id: 'up-1', status: 'up', message: 'The service is back up.', reason: undefined, downForMs: 125_000 }), SEND));
  const { headers, body } = parseEml(await readFile(join(dir, 'up-1.eml'), 'utf8'));
  assert.deepEqual(headers.get('from'), ['ch2 mailer <ch2-mailer@localhost>']);
  assert.equal(decodeWords(headers.get('subject')?.[0] ?? ''), '[UP] http://insideweb:80/ — The service is back up.');
  assert.match(headers.get('content-transfer-encoding')?.[0] === 'quoted-printable' ? decodeQp(body) : body, /Down for: +2m 5s/);
});

test('.json: the alert record, named by its id', async () => {
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir, format: 'json' }), async (c) => {
    assert.deepEqual(await c.send(item({ status: 'up', downForMs: 4000, reason: undefined }), SEND), { ok: true, detail: 'f-1.json' });
  });
  assert.deepEqual(await readdir(dir), ['f-1.json']);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'f-1.json'), 'utf8')), {
    id: 'f-1',
    status: 'up',
    to: 'admin@work',
    message: 'The service is down!',
    target: 'http://insideweb:80/',
    time: '2024-05-01T10:00:00.000Z',
    downForMs: 4000,
    receivedAt: '2024-05-01T10:00:01.000Z',
  });
});

test('a resend overwrites the same file: one file per alert, no temporary file left', async () => {
  for (const format of ['eml', 'json'] as const) {
    const dir = await freshDir();
    await withChannel(createFileChannel({ dir, format }), async (c) => {
      assert.equal((await c.send(item(), SEND)).ok, true);
      const first = await readFile(join(dir, `f-1.${format}`));
      assert.equal((await c.send(item(), SEND)).ok, true);
      assert.deepEqual(await readFile(join(dir, `f-1.${format}`)), first, 'the same alert gives the same bytes');
      // A resend after a crash may carry what changed (here the message): it replaces the file.
      assert.equal((await c.send(item({ message: 'Second copy' }), SEND)).ok, true);
      assert.equal((await c.send(item({ id: 'f-2' }), SEND)).ok, true);
    });
    assert.deepEqual((await readdir(dir)).sort(), [`f-1.${format}`, `f-2.${format}`]);
    assert.match(await readFile(join(dir, `f-1.${format}`), 'utf8'), /Second copy/);
  }
});

test('CR/LF in the message and the target never makes a header', async () => {
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir }), (c) =>
    c.send(item({ id: 'inj-1', target: 'http://x/\r\nBcc: victim@evil', message: 'down\r\nX-Injected: yes\r\n\r\nbody', reason: 'r\nSubject: forged' }), SEND),
  );
  const { headers, head } = parseEml(await readFile(join(dir, 'inj-1.eml'), 'utf8'));
  assert.doesNotMatch(head, /^(Bcc|X-Injected|Subject: forged)/im);
  assert.equal(headers.has('bcc'), false);
  assert.equal(headers.has('x-injected'), false);
  assert.deepEqual(headers.get('subject')?.length, 1);
  assert.equal(decodeWords(headers.get('subject')?.[0] ?? ''), '[DOWN] http://x/ Bcc: victim@evil — down X-Injected: yes body');
});

test('file names: the id, %-encoded where it could leave the folder, hide the file or clash', async () => {
  assert.equal(alertFileName('0b6d3c1e-93f4-4f4e-9b3a-1a2b3c4d5e6f', 'eml'), '0b6d3c1e-93f4-4f4e-9b3a-1a2b3c4d5e6f.eml');
  assert.equal(alertFileName('a:b', 'json'), 'a%3Ab.json');
  assert.equal(alertFileName('../x', 'eml'), '%2E.%2Fx.eml');
  assert.notEqual(alertFileName('a:b', 'eml'), alertFileName('a%3Ab', 'eml'));
  const long = alertFileName(':'.repeat(128), 'eml');
  assert.ok(Buffer.byteLength(long) <= 255, `${long.length} bytes`);
  assert.notEqual(long, alertFileName(`${':'.repeat(127)};`, 'eml'));
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir }), (c) => c.send(item({ id: '../../escape' }), SEND));
  assert.deepEqual(await readdir(dir), ['%2E.%2F..%2Fescape.eml']);
});

test('failures: the folder gone is transient (an operator can bring it back), a folder in the file\'s place is permanent', async () => {
  const dir = await freshDir();
  await withChannel(createFileChannel({ dir }), async (c) => {
    await mkdir(join(dir, 'f-1.eml'));
    await writeFile(join(dir, 'f-1.eml', 'keep'), 'x');
    const blocked = await c.send(item(), SEND);
    assert.deepEqual([blocked.ok, !blocked.ok && blocked.retry], [false, false]);
    assert.match(!blocked.ok ? blocked.error : '', /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual((await readdir(dir)).sort(), ['f-1.eml'], 'no temporary file left behind');
    await rm(dir, { recursive: true });
    const gone = await c.send(item(), SEND);
    assert.deepEqual([gone.ok, !gone.ok && gone.retry], [false, true]);
    assert.match(!gone.ok ? gone.error : '', new RegExp(`${dir}: ENOENT`));
    await mkdir(dir);
    assert.equal((await c.send(item(), SEND)).ok, true, 'delivered once the folder is back');
  });
});

function parse(argv: string[], env: Record<string, string> = {}): Record<string, unknown> {
  return parseChannelOptions(fileChannel, argv, env);
}

test('flags: --file-dir repeatable (FILE_DIR a comma list), --file-format; folders checked at start', async () => {
  const [a, b, c] = [await freshDir(), await freshDir(), await freshDir()];
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  const opts = parse(['--file-dir', a, '--file-dir', b, '--file-format', 'json']);
  const channels = channelsOf(fileChannel, opts, { log });
  try {
    assert.deepEqual(channels.map((ch) => ch.name), ['file', 'file-2']);
    for (const ch of channels) assert.equal((await ch.send(item(), SEND)).ok, true);
    assert.deepEqual([await readdir(a), await readdir(b)], [['f-1.json'], ['f-1.json']]);
  } finally {
    await Promise.all(channels.map((ch) => ch.close?.()));
  }
  const fromEnv = parse([], { FILE_DIR: `${a}, ${c}` });
  assert.equal(fromEnv.fileFormat, 'eml', 'eml by default');
  assert.deepEqual(fromEnv.fileDir, [a, c]);
  assert.deepEqual(channelsOf(fileChannel, parse([]), { log }), [], 'no folder, no channel');

  const missing = join(root, 'missing');
  assert.throws(() => fileDirArg(missing), new RegExp(`${missing} does not exist`));
  await writeFile(join(root, 'plain-file'), 'x');
  assert.throws(() => fileDirArg(join(root, 'plain-file')), /is not a folder/);
  assert.throws(() => parse(['--file-dir', missing]), /option '--file-dir <dir>' argument .* is invalid\. .* does not exist/);
  assert.throws(() => parse([], { FILE_DIR: `${a},${missing}` }), /from env 'FILE_DIR' is invalid/);
  assert.throws(() => parse(['--file-dir', a, '--file-dir', a]), /given twice/);
  assert.throws(() => parse(['--file-format', 'mbox']), /Expected one of: eml, json/);
});
