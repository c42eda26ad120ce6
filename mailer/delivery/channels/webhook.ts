/**
 * Generic webhooks (`--webhook`, repeatable; WEBHOOK_URL a comma- or
 * space-separated list): each alert POSTed as JSON (email-content.ts's
 * AlertRecord) over http-post.ts, with `Idempotency-Key: <alert id>`, the
 * same on every retry, and with `--webhook-token`, `Authorization: Bearer
 * <token>`. Channels are named webhook, webhook-2, ….
 *
 * `--webhook-timeout` is the time one request may take in all, for Slack and
 * Discord webhooks too.
 */
import { ConfigError, durationArg, envOption } from '../../../shared/config.ts';
import { formatDurationFlag as formatDuration } from '../../../shared/duration.ts';
import { alertRecord } from '../email-content.ts';
import type { Channel, ChannelKind } from './channel.ts';
import { createHttpPost, DEFAULT_WEBHOOK_TIMEOUT_MS, urlSecrets, webhookList } from './http-post.ts';

export const WEBHOOK_FLAG = { flag: '--webhook', env: 'WEBHOOK_URL' };

export function webhookTokenArg(text: string): string {
  const token = text.trim();
  // Visible ASCII only: anything else could not go into a header (or would split it).
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('--webhook-token / WEBHOOK_TOKEN: expected a token of visible ASCII characters, no spaces or line breaks (the value is not shown).');
  }
  return token;
}

export interface WebhookOptions {
  url: URL;
  name?: string;
  /** Bearer token. */
  token?: string;
  timeoutMs?: number;
}

export function createWebhookChannel(options: WebhookOptions): Channel {
  const http = createHttpPost({ url: options.url, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}) });
  return {
    name: options.name ?? 'webhook',
    concurrency: http.connections,
    send: (item, { signal }) => http.post(alertRecord(item), { 'idempotency-key': item.alert.id }, signal),
    close: () => http.close(),
  };
}

const urlsOf = (opts: Record<string, unknown>): URL[] => (opts.webhook as URL[] | undefined) ?? [];

export const webhookChannel: ChannelKind = {
  kind: 'webhook',
  options: () => [
    envOption('--webhook <url>', 'POST each alert as JSON to this URL (repeatable, or a comma-separated list)', WEBHOOK_FLAG.env).argParser(webhookList(WEBHOOK_FLAG)),
    envOption('--webhook-token <token>', 'sent as "Authorization: Bearer <token>" to --webhook URLs', 'WEBHOOK_TOKEN', webhookTokenArg),
    envOption('--webhook-timeout <duration>', 'time one webhook request (also Slack, Discord) may take in all', 'WEBHOOK_TIMEOUT', durationArg(100, 120_000)).default(DEFAULT_WEBHOOK_TIMEOUT_MS, formatDuration(DEFAULT_WEBHOOK_TIMEOUT_MS)),
  ],
  secrets: (opts) => [...urlSecrets(urlsOf(opts)), ...(typeof opts.webhookToken === 'string' ? [opts.webhookToken] : [])],
  create: (opts) =>
    urlsOf(opts).map((url, i) =>
      createWebhookChannel({
        url,
        name: i === 0 ? 'webhook' : `webhook-${i + 1}`,
        ...(typeof opts.webhookToken === 'string' ? { token: opts.webhookToken } : {}),
        timeoutMs: (opts.webhookTimeout as number | undefined) ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
      }),
    ),
};
