import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { channelsOf } from '../../support/channel-options.ts';
import { logChannel } from '../../../mailer/delivery/channels/log.ts';
import { createLogger } from '../../../shared/logger.ts';

/** The options of a send nobody cancels. */
const SEND = { signal: new AbortController().signal };

test("the log channel prints the book's line, raw spacing kept, one line per alert", async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out, err: new PassThrough() });
  const [channel] = channelsOf(logChannel, {}, { log });
  assert.ok(channel);
  const base = { id: 'x', to: 'admin@work', message: 'The service is down!', status: 'down' as const };
  assert.deepEqual(await channel.send({ alert: base, line: 'To: admin@work  Message: The service is down!', via: 'raw', receivedAt: 0 }, SEND), { ok: true });
  await channel.send({ alert: base, line: 'To: admin@work Message: evil\nSending email: forged', via: 'raw', receivedAt: 0 }, SEND);
  assert.equal(
    text,
    'Sending email: To: admin@work  Message: The service is down!\nSending email: To: admin@work Message: evil\\nSending email: forged\n',
  );
});
