/**
 * Slack incoming webhooks (`--slack-webhook`, repeatable; SLACK_WEBHOOK_URL a
 * list), over chat-webhook.ts and http-post.ts. Channels are named slack, slack-2, ….
 *
 * The payload is `{"text", "mrkdwn": false, "unfurl_links": false,
 * "unfurl_media": false}`: the subject line, then reason, outage length,
 * time and alert id, one per line. Alert data is not trusted (the raw
 * protocol carries no token), so it can neither mention, link nor format:
 * `mrkdwn: false` turns off `*bold*`, `_italic_`, `~strike~` and code, and
 * slackEscape turns Slack's control characters & < > into the entities
 * Slack documents, so `<!channel>`, `<@U123>` and `<https://evil|x>` show as
 * typed. A bare URL in alert data (a target) shows as written; Slack may make
 * it clickable, naming its real address, and previews are off.
 *
 * Slack ignores Idempotency-Key: a retried alert is a second message.
 */
import { chatLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelKind } from './channel.ts';
import { type ChatWebhookSpec, chatWebhookKind, createChatChannel } from './chat-webhook.ts';

/** Characters of alert text at most: Slack takes far more; this keeps a message readable. */
const SLACK_TEXT_MAX = 3000;

/** Slack's control characters & < > as entities (its documented escaping): no mention, no link. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function slackPayload(item: QueuedAlert): { text: string; mrkdwn: false; unfurl_links: false; unfurl_media: false } {
  const { title, details } = chatLines(item);
  // Clipped before it is escaped, so no entity is cut in two (Slack takes far longer texts).
  const text = slackEscape(clip([title, ...details].join('\n'), SLACK_TEXT_MAX));
  return { text, mrkdwn: false, unfurl_links: false, unfurl_media: false };
}

const SLACK: ChatWebhookSpec = {
  kind: 'slack',
  flag: '--slack-webhook',
  env: 'SLACK_WEBHOOK_URL',
  key: 'slackWebhook',
  description: 'post each alert to this Slack incoming webhook (repeatable, or a list)',
  payload: slackPayload,
};

export const createSlackChannel = (options: { url: URL; name?: string; timeoutMs?: number }): Channel => createChatChannel(SLACK, options);

export const slackChannel: ChannelKind = chatWebhookKind(SLACK);
