import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger, makeScrubber } from '../../shared/logger.ts';

function sink() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, read: () => text };
}

test('plain format prints the message alone, as the book does', async () => {
  const out = sink();
  const err = sink();
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: out.stream, err: err.stream });
  log.info('System up.', { latencyMs: 3 });
  log.warn('careful');
  log.debug('hidden');
  assert.equal(out.read(), 'System up.\n');
  assert.equal(err.read(), 'careful\n');
});

test('batch: the lines of one turn are written at its end, one write per run of a stream, in order', async () => {
  const writes: string[] = [];
  const recorder = (name: string) => {
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => writes.push(`${name}:${c.toString()}`));
    return stream;
  };
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: recorder('out'), err: recorder('err'), batch: true });
  log.output('Sending email: a');
  log.output('Sending email: b');
  log.warn('careful');
  log.info('c');
  log.debug('hidden');
  assert.deepEqual(writes, [], 'nothing written before the turn ends');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['out:Sending email: a\nSending email: b\n', 'err:careful\n', 'out:c\n']);
});

test('passwords in URLs and registered secrets are scrubbed', () => {
  const scrub = makeScrubber(['tok3n-value']);
  assert.equal(scrub('smtp://alice:s3cret@mail:25 failed'), 'smtp://alice:[redacted]@mail:25 failed');
  assert.equal(scrub('Bearer tok3n-value'), 'Bearer [redacted]');
  assert.equal(scrub('p%40ss'), 'p%40ss');
});

test('secrets never reach a plain line, in the message or the fields', async () => {
  const out = sink();
  const err = sink();
  const log = await createLogger({ name: 't', format: 'plain', level: 'debug', secrets: ['hunter2'], out: out.stream, err: err.stream });
  log.error('auth hunter2 failed for smtp://bob:hunter2@x', { url: 'smtp://bob:hunter2@x' });
  assert.doesNotMatch(out.read() + err.read(), /hunter2/);
  assert.match(err.read(), /\[redacted\]/);
});

test('json format writes one pino JSON object per line with level and msg', async (t) => {
  const writes: string[] = [];
  let written: () => void = () => {};
  const firstWrite = new Promise<void>((resolve) => (written = resolve));
  const original = process.stdout.write.bind(process.stdout);
  t.mock.method(process.stdout, 'write', (chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = chunk.toString();
    if (text.includes('"name":"jt"')) {
      writes.push(text);
      written();
      return true;
    }
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  const log = await createLogger({ name: 'jt', format: 'json', level: 'info', secrets: ['hunter2'] });
  log.info('Sending email: To: admin@work Message: x', { id: 'a1', password: 'hunter2' });
  // pino may write on a later tick: wait for the write itself (bounded), not for a guessed time.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([firstWrite, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('pino wrote nothing within 2 s')), 2000)))]);
  clearTimeout(timer);
  t.mock.restoreAll();
  assert.equal(writes.length, 1, `pino wrote: ${writes.join('')}`);
  const line = JSON.parse(writes[0] ?? '{}') as Record<string, unknown>;
  assert.equal(line.level, 'info');
  assert.equal(line.msg, 'Sending email: To: admin@work Message: x');
  assert.equal(line.id, 'a1');
  assert.equal(line.password, '[redacted]');
});
