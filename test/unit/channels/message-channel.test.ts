/**
 * message-channel.ts: fitLines, the one fitting of a chat message within a
 * provider's limit (the subject cut, details while they fit, then "… and N
 * more alerts"), and the secrets a message channel takes out of its error
 * lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { permanent, sent } from '../../../shared/send-result.ts';
import { fitLines, messageChannel, TITLE_MAX } from '../../../mailer/delivery/channels/message-channel.ts';
import { sampleAlert } from '../../support/sample-alert.ts';

const SEND = { signal: new AbortController().signal };
const upper = (text: string) => text.toUpperCase();

test('fitLines: the title cut to 1,000 characters then escaped and framed; every detail escaped when all fit', () => {
  const lines = fitLines({ title: 'x'.repeat(TITLE_MAX + 50), details: ['a', 'b'] }, { escape: upper, frame: (t) => `*${t}*`, max: 10_000 });
  assert.deepEqual(lines, [`*${'X'.repeat(TITLE_MAX - 1)}…*`, 'A', 'B']);
});

test('fitLines: the lines (a break costing 1) stay within max, and the rest are counted in one "… and N more alerts" line', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 40 }), fc.integer({ min: 300, max: 1200 }), (title, details, max) => {
      const lines = fitLines({ title, details }, { escape: (t) => t.replace(/&/g, '&amp;'), max });
      const last = /^… and (\d+) more alerts?$/.exec(lines.at(-1)!);
      const kept = lines.slice(1, last ? -1 : undefined);
      assert.equal(lines.slice(0, last ? -1 : undefined).join('\n').length <= max, true);
      assert.equal(kept.length + (last ? Number(last[1]) : 0), details.length);
      if (last) assert.equal(lines.slice(0, -1).join('\n').length + 1 + details[kept.length]!.replace(/&/g, '&amp;').length > max, true);
    }),
  );
  // At the edge: 't\naaaa' is 6 characters.
  assert.deepEqual(fitLines({ title: 't', details: ['aaaa', 'bbbb'] }, { escape: (t) => t, max: 6 }), ['t', 'aaaa', '… and 1 more alert']);
  assert.deepEqual(fitLines({ title: 't', details: ['aaaa', 'bbbb'] }, { escape: (t) => t, max: 5 }), ['t', '… and 2 more alerts']);
});

test('fitLines: size measures what the provider counts (here the raw text, not the escaped)', () => {
  const lines = fitLines({ title: 't', details: ['&&&', '&&&'] }, { escape: (t) => t.replace(/&/g, '&amp;'), size: (_e, raw) => raw.length, max: 9 });
  assert.deepEqual(lines, ['t', '&amp;&amp;&amp;', '&amp;&amp;&amp;']);
});

test('messageChannel: its secrets (8 characters and more) are taken out of a failed send\'s error, in order; a success is left as it is', async () => {
  const results = [permanent('https://h answered HTTP 400: bad token 123:hunter22secret, short abc'), sent('ok hunter22secret')];
  const channel = messageChannel({ name: 'm', secrets: ['123:hunter22secret', 'hunter22secret', 'abc'], say: async () => results.shift()! });
  assert.deepEqual(await channel.send(sampleAlert('m-1'), SEND), permanent('https://h answered HTTP 400: bad token …, short abc'));
  assert.deepEqual(await channel.sendGroup!([sampleAlert('m-2'), sampleAlert('m-3')], SEND), sent('ok hunter22secret'));
});
