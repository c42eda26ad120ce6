/**
 * The Slack channel against a loopback receiver: the exact body Slack's
 * incoming webhook gets (`text`, `mrkdwn: false`, no unfurling), and hostile
 * alert text coming out inert: no mention, no link, no formatting.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, beforeEach, test } from 'node:test';
import { slackChannel, slackEscape } from '../../../mailer/delivery/channels/slack.ts';
import { webhookChannel } from '../../../mailer/delivery/channels/webhook.ts';
import type { QueuedAlert } from '../../../mailer/queued-alert.ts';
import { createLogger } from '../../../shared/logger.ts';
import { channelOf, channelsOf, parseChannelOptions, secretsOf } from '../../support/channel-options.ts';
import { sampleAlert } from '../../support/sample-alert.ts';
import { Receiver } from '../../support/http-receiver.ts';
import fc from 'fast-check';

const SEND = { signal: new AbortController().signal };
const rx = new Receiver();
before(() => rx.listen());
after(() => rx.close());
beforeEach(() => rx.reset());

const item = (overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert => sampleAlert('sl-1', overrides);

async function post(alert: QueuedAlert): Promise<unknown> {
  const channel = channelOf(slackChannel, { url: new URL(`${rx.base}/services/T0/B0/slacksecret`) });
  try {
    assert.equal((await channel.send(alert, SEND)).ok, true);
  } finally {
    await channel.close?.();
  }
  const hit = rx.hits.at(-1)!;
  assert.equal(hit.headers['content-type'], 'application/json');
  assert.equal(hit.headers['idempotency-key'], alert.alert.id);
  return JSON.parse(hit.body);
}

test('Slack gets exactly {text, mrkdwn: false, unfurl_links: false, unfurl_media: false}: subject, reason, outage, time, id', async () => {
  assert.deepEqual(await post(item({ status: 'up', message: 'The service is back up.', reason: undefined, downForMs: 3_723_000 })), {
    text: '[UP] http://insideweb:80/ — The service is back up.\nDown for: 1h 2m\nTime: 2024-05-01T10:00:00.000Z\nAlert id: sl-1',
    mrkdwn: false,
    unfurl_links: false,
    unfurl_media: false,
  });
});

test('hostile alert text comes out inert in Slack: <!channel>, <@U1>, <url|masked> escaped, mrkdwn off, one line each', async () => {
  const body = (await post(
    item({
      message: '<!channel> <!here> <@U123> <#C1> <!subteam^S1> *bold* _it_ ~st~ `code` [x](https://evil) <https://evil|Reset password> & @everyone',
      reason: 'r\n> quote\n<!everyone>',
    }),
  )) as { text: string; mrkdwn: boolean };
  assert.equal(body.mrkdwn, false, 'no *bold*, _italic_, ~strike~ or `code`');
  assert.equal(
    body.text,
    '[DOWN] http://insideweb:80/ — &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;!subteam^S1&gt; *bold* _it_ ~st~ `code` [x](https://evil) &lt;https://evil|Reset password&gt; &amp; @everyone\n' +
      'Reason: r &gt; quote &lt;!everyone&gt;\nTime: 2024-05-01T10:00:00.000Z\nAlert id: sl-1',
  );
  // Slack's control syntax is <…>: none survives.
  assert.doesNotMatch(body.text, /[<>]/);
});

test('slackEscape: & < > only, reversibly; no < or > survives (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (text) => {
      const out = slackEscape(text);
      assert.doesNotMatch(out, /[<>]/);
      assert.equal(out.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'), text);
    }),
  );
});

test('--slack-webhook: repeatable, slack, slack-2; the URL is a secret; the generic --webhook-token is not sent to Slack', async () => {
  const log = await createLogger({ name: 't', format: 'plain', level: 'info', out: new PassThrough(), err: new PassThrough() });
  const opts = parseChannelOptions([webhookChannel, slackChannel], ['--slack-webhook', `${rx.base}/services/T/B/one`, '--webhook-token', 'tok-123'], {
    SLACK_WEBHOOK_URL: `${rx.base}/services/T/B/two`,
  });
  const channels = channelsOf(slackChannel, opts, { log });
  try {
    assert.deepEqual(channels.map((c) => c.name), ['slack']);
    assert.equal((await channels[0]!.send(item(), SEND)).ok, true);
    assert.equal(rx.hits[0]!.headers.authorization, undefined);
  } finally {
    await Promise.all(channels.map((c) => c.close?.()));
  }
  assert.deepEqual(secretsOf(slackChannel, opts), [`${rx.base}/services/T/B/one`, '/services/T/B/one']);
  const both = parseChannelOptions(slackChannel, ['--slack-webhook', 'https://a.example/services/1', '--slack-webhook', 'https://b.example/services/2']);
  assert.deepEqual(channelsOf(slackChannel, both, { log }).map((c) => c.name), ['slack', 'slack-2']);
});
