/**
 * What a chat channel over an incoming webhook is, once: one repeatable URL
 * flag (its env var a list), channels named <kind>, <kind>-2, …, the URL a
 * secret, `--webhook-timeout` for the deadline, and a JSON payload per alert
 * POSTed over http-post.ts with `Idempotency-Key: <alert id>` (which Slack
 * and Discord ignore). slack.ts and discord.ts give only their payload.
 */
import { envOption } from '../../../shared/config.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import type { Channel, ChannelKind } from './channel.ts';
import { createHttpPost, DEFAULT_WEBHOOK_TIMEOUT_MS, urlSecrets, webhookList } from './http-post.ts';

export interface ChatWebhookSpec {
  kind: string;
  /** e.g. "--slack-webhook" and "SLACK_WEBHOOK_URL"; `key` is commander's name for it ("slackWebhook"). */
  flag: string;
  env: string;
  key: string;
  description: string;
  payload: (item: QueuedAlert) => unknown;
}

export function createChatChannel(spec: ChatWebhookSpec, options: { url: URL; name?: string; timeoutMs?: number }): Channel {
  const http = createHttpPost({ url: options.url, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  return {
    name: options.name ?? spec.kind,
    concurrency: http.connections,
    send: (item, { signal }) => http.post(spec.payload(item), { 'idempotency-key': item.alert.id }, signal),
    close: () => http.close(),
  };
}

export function chatWebhookKind(spec: ChatWebhookSpec): ChannelKind {
  const urlsOf = (opts: Record<string, unknown>): URL[] => (opts[spec.key] as URL[] | undefined) ?? [];
  return {
    kind: spec.kind,
    options: () => [envOption(`${spec.flag} <url>`, spec.description, spec.env).argParser(webhookList(spec))],
    secrets: (opts) => urlSecrets(urlsOf(opts)),
    create: (opts) =>
      urlsOf(opts).map((url, i) =>
        createChatChannel(spec, {
          url,
          name: i === 0 ? spec.kind : `${spec.kind}-${i + 1}`,
          // --webhook-timeout belongs to the webhook kind; chat webhooks share it.
          timeoutMs: (opts.webhookTimeout as number | undefined) ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
        }),
      ),
  };
}
