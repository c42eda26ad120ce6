/**
 * Generic webhooks (`--webhook`, repeatable; WEBHOOK_URL a comma- or
 * space-separated list): each alert POSTed as JSON (email-content.ts's
 * AlertRecord) over http-post.ts, with `Idempotency-Key: <alert id>`, the
 * same on every retry, and with `--webhook-token`, `Authorization: Bearer
 * <token>`. Channels are named webhook, webhook-2, ….
 *
 * `--webhook-template <file>` (WEBHOOK_TEMPLATE; `template:` in a config
 * entry) sends each request as the file says instead (webhook-template.ts):
 * method, content type, headers and body, the Idempotency-Key still added.
 *
 * Grouping, when a config entry asks for it (`group: true`, or wait and
 * interval): every request of the channel is a group (webhookGroup, close to
 * Alertmanager's webhook: version, status, receiver, to, title, alerts[]
 * of AlertRecords), even of one alert, so that a receiver reads one shape;
 * Idempotency-Key the alert id for one, a hash of the members' ids for more.
 * A templated webhook groups only if its body has an {{#alerts}} section.
 *
 * `--webhook-timeout` (the mailer's) is the time one request may take in all,
 * for every HTTP channel.
 */
import { ConfigError, envOption } from '../../../shared/config.ts';
import { permanent } from '../../../shared/send-result.ts';
import { oneLine } from '../../../shared/text.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { type AlertRecord, alertRecord, messageLines } from '../email-content.ts';
import { type Channel, defineKind } from './channel.ts';
import { createHttpPost, urlSecrets, webhookList, webhookUrl } from './http-post.ts';
import { idempotencyKey } from './message-channel.ts';
import { decodedPart, yesNo } from './notify-url.ts';
import { loadWebhookTemplate, type RenderedRequest, renderWebhookGroup, renderWebhookTemplate, type WebhookTemplate } from './webhook-template.ts';
import { groupStatus } from './webhook-template-render.ts';

export const WEBHOOK_FLAG = { flag: '--webhook', env: 'WEBHOOK_URL' };

export function webhookTokenArg(text: string): string {
  const token = text.trim();
  // Visible ASCII only: anything else could not go into a header (or would split it).
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError('--webhook-token / WEBHOOK_TOKEN: expected a token of visible ASCII characters, no spaces or line breaks (the value is not shown).');
  }
  return token;
}

/** Header names whose values are credentials, as a rule. */
const CREDENTIAL_HEADER = /^(proxy-)?authorization$|^cookie$|token|key|secret|signature|passw|auth/i;

/**
 * The fixed text of a template's credential headers (`Authorization: Bearer
 * abc`, `X-Api-Key: abc`): secrets, so that no log line shows them, not even
 * a receiver's answer that echoes one. The scheme word alone is not one.
 */
function templateSecrets(template: WebhookTemplate): string[] {
  return Object.entries(template.headers)
    .filter(([name]) => CREDENTIAL_HEADER.test(name))
    .flatMap(([, value]) => value.split(/\{\{[\s\S]*?\}\}/))
    .flatMap((text) => {
      const literal = text.trim();
      const credentials = /^(Bearer|Basic|Token|Bot|Key|ApiKey|Digest)\s+(\S.*)$/i.exec(literal)?.[2];
      return credentials ? [literal, credentials] : [literal];
    })
    .filter((secret) => secret.length > 0);
}

export interface WebhookSettings {
  url: URL;
  /** Bearer token. */
  token?: string;
  /** --webhook-template: the request as this template says, instead of the JSON AlertRecord. */
  template?: WebhookTemplate;
}

export interface WebhookOptions extends WebhookSettings {
  name?: string;
  timeoutMs?: number;
  /** Every request a group (the route groups). */
  grouped?: boolean;
}

/** The JSON body of a grouped webhook's request. */
export interface WebhookGroup {
  /** This shape's version. */
  version: '1';
  /** down when any alert is down, else up. */
  status: 'down' | 'up';
  /** The channel's name. */
  receiver: string;
  /** The recipient every alert of the group is for. */
  to: string;
  /** The group's subject, as a chat message's: `[DOWN] 4 targets: web-1, … — The service is down!`. */
  title: string;
  /** Each alert as an ungrouped webhook gets it, in the order they were accepted. */
  alerts: AlertRecord[];
}

export function webhookGroup(items: readonly QueuedAlert[], receiver: string): WebhookGroup {
  return {
    version: '1',
    status: groupStatus(items),
    receiver,
    to: items[0]!.alert.to,
    title: messageLines(items).title,
    alerts: items.map(alertRecord),
  };
}

export function createWebhookChannel(options: WebhookOptions): Channel {
  const http = createHttpPost({ url: options.url, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}) });
  const name = options.name ?? 'webhook';
  const { template } = options;
  const post = async (items: readonly QueuedAlert[], signal: AbortSignal) => {
    const key = { 'idempotency-key': idempotencyKey(items) };
    if (!template) return http.post(options.grouped ? webhookGroup(items, name) : alertRecord(items[0]!), key, signal);
    let r: RenderedRequest;
    try {
      r = options.grouped ? renderWebhookGroup(template, items) : renderWebhookTemplate(template, items[0]!);
    } catch (err) {
      return permanent(`webhook template ${template.file}: ${(err as Error).message}`);
    }
    return http.send({ method: r.method, contentType: r.contentType, headers: { ...r.headers, ...key }, body: r.body }, signal);
  };
  return {
    name,
    concurrency: http.connections,
    send: (item, { signal }) => post([item], signal),
    ...(options.grouped ? { sendGroup: (items: readonly QueuedAlert[], { signal }: { signal: AbortSignal }) => post(items, signal) } : {}),
    close: () => http.close(),
  };
}

/**
 * shoutrrr's generic webhook: `generic://host[:port]/path` (https;
 * `?disabletls=yes` for http) or `generic+http://…` / `generic+https://…`;
 * the other query parameters stay on the URL. A bearer token goes in
 * `?token=` (taken off the URL).
 */
export function genericWebhookOf(url: URL): WebhookSettings {
  const plus = /^generic\+(https?):$/i.exec(url.protocol)?.[1];
  const params = new URLSearchParams(url.search);
  let secure = plus ? plus.toLowerCase() === 'https' : true;
  const disable = [...params.keys()].find((k) => k.toLowerCase() === 'disabletls');
  if (disable !== undefined) {
    const value = params.get(disable)!;
    secure = !yesNo(url, new Map([['disabletls', value]]), 'disabletls', false);
    params.delete(disable);
  }
  const token = params.get('token');
  params.delete('token');
  if (url.username || url.password) throw new ConfigError('generic:// URL: user:password@ is not supported; give a bearer token as ?token= (the URL is not shown).');
  const query = params.toString();
  const target = webhookUrl(`${secure ? 'https' : 'http'}://${url.host}${url.pathname}${query ? `?${query}` : ''}`, { flag: '--notify', env: 'NOTIFY_URLS' });
  return { url: target, ...(token !== null ? { token: webhookTokenArg(decodedPart(url, token, 'token')) } : {}) };
}

export const webhookChannel = defineKind<WebhookSettings>({
  kind: 'webhook',
  groups: 'when asked',
  groupRefusal: (s) =>
    s.template && !s.template.listsAlerts ? `the template ${oneLine(s.template.file)} has no {{#alerts}}…{{/alerts}} section in its body, so a group would lose its alerts; add one, or remove group:.` : undefined,
  schemes: ['generic'],
  urlExample: 'generic://host/path',
  options: () => [
    envOption('--webhook <url>', 'POST each alert as JSON to this URL (repeatable, or a comma-separated list)', WEBHOOK_FLAG.env).argParser(webhookList(WEBHOOK_FLAG)),
    envOption('--webhook-token <token>', 'sent as "Authorization: Bearer <token>" to --webhook URLs', 'WEBHOOK_TOKEN', webhookTokenArg),
    envOption('--webhook-template <file>', 'send each --webhook request as this YAML/JSON template says (method, contentType, headers, body)', 'WEBHOOK_TEMPLATE', loadWebhookTemplate),
  ],
  fromOptions: (opts) =>
    ((opts.webhook as URL[] | undefined) ?? []).map((url) => ({
      url,
      ...(typeof opts.webhookToken === 'string' ? { token: opts.webhookToken } : {}),
      ...(opts.webhookTemplate !== undefined ? { template: opts.webhookTemplate as WebhookTemplate } : {}),
    })),
  fromUrl: genericWebhookOf,
  configKeys: ['url', 'token', 'template'],
  fromConfig: (entry) => {
    if (typeof entry.url !== 'string') throw new ConfigError('url: expected the webhook URL as a string.');
    if (entry.token !== undefined && typeof entry.token !== 'string') throw new ConfigError('token: expected a string.');
    if (entry.template !== undefined && typeof entry.template !== 'string') throw new ConfigError('template: expected the path of a template file.');
    return {
      url: webhookUrl(entry.url, { flag: 'url', env: 'webhook channel' }),
      ...(typeof entry.token === 'string' ? { token: webhookTokenArg(entry.token) } : {}),
      ...(typeof entry.template === 'string' ? { template: loadWebhookTemplate(entry.template) } : {}),
    };
  },
  secrets: (s) => [...urlSecrets([s.url]), ...(s.token ? [s.token] : []), ...(s.template ? templateSecrets(s.template) : [])],
  create: (s, ctx) => createWebhookChannel({ ...s, name: ctx.name, timeoutMs: ctx.httpTimeoutMs, grouped: ctx.grouped === true }),
});
