/**
 * What a chat channel over an incoming webhook is, once: one repeatable URL
 * flag (its env var a list) and `--notify` URL forms, channels named <kind>,
 * <kind>-2, …, the URL a secret, `--webhook-timeout` for the deadline, and a
 * JSON payload per message POSTed over http-post.ts with `Idempotency-Key`
 * (which Slack and Discord ignore). slack.ts and discord.ts give only their
 * payload, their URL forms and their rate limit; teams.ts, mattermost.ts and
 * google-chat.ts build on webhookMessageChannel.
 */
import { ConfigError, envOption } from '../../../shared/config.ts';
import type { MessageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelContext, ChannelKind, RateLimit } from './channel.ts';
import { defineKind } from './channel.ts';
import { createHttpPost, urlSecrets, webhookList, webhookUrl } from './http-post.ts';
import { idempotencyKey, messageChannel } from './message-channel.ts';

export interface ChatWebhookSpec {
  kind: string;
  /** e.g. "--slack-webhook" and "SLACK_WEBHOOK_URL"; `key` is commander's name for it ("slackWebhook"). */
  flag: string;
  env: string;
  key: string;
  description: string;
  payload: (lines: MessageLines) => unknown;
  /** Per webhook, from the provider's published limits. */
  rateLimit?: RateLimit;
  /** The provider's webhook URL for a `--notify` URL of this kind (shoutrrr's form). */
  fromNotify?: (url: URL) => URL;
  /** A `--notify` URL of this kind, for errors (with fromNotify). */
  urlExample?: string;
}

export interface ChatWebhookSettings {
  url: URL;
}

export function chatWebhookKind(spec: ChatWebhookSpec): ChannelKind {
  const from = { flag: spec.flag, env: spec.env };
  return defineKind<ChatWebhookSettings>({
    kind: spec.kind,
    groups: true,
    schemes: spec.fromNotify ? [spec.kind] : [],
    ...(spec.urlExample !== undefined ? { urlExample: spec.urlExample } : {}),
    options: () => [envOption(`${spec.flag} <url>`, spec.description, spec.env).argParser(webhookList(from))],
    fromOptions: (opts) => ((opts[spec.key] as URL[] | undefined) ?? []).map((url) => ({ url })),
    ...(spec.fromNotify ? { fromUrl: (url: URL) => ({ url: spec.fromNotify!(url) }) } : {}),
    configKeys: ['url'],
    fromConfig: (entry) => {
      if (typeof entry.url !== 'string') throw new ConfigError('url: expected the webhook URL as a string.');
      return { url: webhookUrl(entry.url, { flag: 'url', env: `${spec.kind} channel` }) };
    },
    secrets: (settings) => urlSecrets([settings.url]),
    create: (settings, ctx) => webhookMessageChannel(settings.url, ctx, { payload: spec.payload, ...(spec.rateLimit ? { rateLimit: spec.rateLimit } : {}) }),
  });
}

/**
 * A chat channel that POSTs each message as JSON to one incoming-webhook URL
 * (Slack, Discord, Teams, Mattermost, Google Chat): http-post.ts with the
 * mailer's --webhook-timeout, `Idempotency-Key`, and the secrets kept out of
 * its error text.
 */
export function webhookMessageChannel(
  url: URL,
  ctx: ChannelContext,
  options: { payload: (lines: MessageLines, items: readonly QueuedAlert[]) => unknown; rateLimit?: RateLimit; secrets?: readonly string[] },
): Channel {
  const http = createHttpPost({ url, timeoutMs: ctx.httpTimeoutMs });
  return messageChannel({
    name: ctx.name,
    concurrency: http.connections,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    say: (lines, items, signal) => http.post(options.payload(lines, items), { 'idempotency-key': idempotencyKey(items) }, signal),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    close: () => http.close(),
  });
}
