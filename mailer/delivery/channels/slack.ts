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
import { ConfigError } from '../../../shared/config.ts';
import { cut } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { ChannelKind } from './channel.ts';
import { type ChatWebhookSpec, chatWebhookKind } from './chat-webhook.ts';
import { apiBase, decodedPart } from './notify-url.ts';

/** Characters of alert text at most: Slack takes up to 40,000; this keeps a group message of 50 alerts whole (every target named) and still readable. */
const SLACK_TEXT_MAX = 12_000;

/** Slack's control characters & < > as entities (its documented escaping): no mention, no link. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload({ title, details }: MessageLines): { text: string; mrkdwn: false; unfurl_links: false; unfurl_media: false } {
  // Clipped before it is escaped, so no entity is cut in two (Slack takes far longer texts).
  const text = slackEscape(cut([title, ...details].join('\n'), SLACK_TEXT_MAX));
  return { text, mrkdwn: false, unfurl_links: false, unfurl_media: false };
}

const SLACK: ChatWebhookSpec = {
  kind: 'slack',
  flag: '--slack-webhook',
  env: 'SLACK_WEBHOOK_URL',
  key: 'slackWebhook',
  description: 'post each alert to this Slack incoming webhook (repeatable, or a list)',
  payload: slackPayload,
  // Slack: about one message a second per incoming webhook.
  rateLimit: { count: 1, perMs: 1000 },
  fromNotify: slackWebhookOf,
  urlExample: 'slack://hook:A-B-C@webhook',
};

/**
 * shoutrrr's Slack forms: `slack://[botname@]token-a/token-b/token-c` and
 * `slack://hook:token-a-token-b-token-c@webhook`, both the incoming webhook
 * https://hooks.slack.com/services/token-a/token-b/token-c (`api` replaces
 * https://hooks.slack.com). The bot form (`slack://xoxb:…@channel`) is not supported.
 */
export function slackWebhookOf(url: URL): URL {
  let parts: string[];
  if (url.username === 'hook' && url.hostname === 'webhook') parts = decodedPart(url, url.password, 'token').split('-');
  else if (url.username === 'xoxb' || url.username === 'xoxp') throw new ConfigError('slack:// URL: bot tokens (xoxb, xoxp) are not supported; use an incoming webhook, slack://hook:A-B-C@webhook (the URL is not shown).');
  else parts = [url.hostname, ...url.pathname.split('/').filter((p) => p !== '')];
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9]+$/.test(p))) {
    throw new ConfigError('slack:// URL: expected slack://token-a/token-b/token-c or slack://hook:token-a-token-b-token-c@webhook (the URL is not shown: it holds a token).');
  }
  const base = apiBase(url, 'https://hooks.slack.com');
  return new URL(`${base}/services/${parts.join('/')}`);
}

export const slackChannel: ChannelKind = chatWebhookKind(SLACK);
