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
 * `--webhook-timeout` (the mailer's) is the time one request may take in all,
 * for every HTTP channel.
 */
import { ConfigError, envOption } from '../../../shared/config.ts';
import { permanent } from '../../../shared/send-result.ts';
import { alertRecord } from '../email-content.ts';
import { type Channel, defineKind } from './channel.ts';
import { createHttpPost, urlSecrets, webhookList, webhookUrl } from './http-post.ts';
import { decodedPart, yesNo } from './notify-url.ts';
import { loadWebhookTemplate, renderWebhookTemplate, type WebhookTemplate } from './webhook-template.ts';

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
}

export function createWebhookChannel(options: WebhookOptions): Channel {
  const http = createHttpPost({ url: options.url, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}) });
  return {
    name: options.name ?? 'webhook',
    concurrency: http.connections,
    send: async (item, { signal }) => {
      const key = { 'idempotency-key': item.alert.id };
      if (!options.template) return http.post(alertRecord(item), key, signal);
      let r: ReturnType<typeof renderWebhookTemplate>;
      try {
        r = renderWebhookTemplate(options.template, item);
      } catch (err) {
        return permanent(`webhook template ${options.template.file}: ${(err as Error).message}`);
      }
      return http.send({ method: r.method, contentType: r.contentType, headers: { ...r.headers, ...key }, body: r.body }, signal);
    },
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
  schemes: ['generic'],
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
  create: (s, ctx) => createWebhookChannel({ ...s, name: ctx.name, timeoutMs: ctx.httpTimeoutMs }),
});
