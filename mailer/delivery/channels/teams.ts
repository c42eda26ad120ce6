/**
 * Microsoft Teams, through a Workflows webhook (Power Automate's "Post to a
 * channel when a webhook request is received"; the Office 365 connector
 * webhooks, …webhook.office.com, are retired): each alert, or a group of
 * them, is one JSON POST over http-post.ts of the message envelope Workflows
 * documents, holding one Adaptive Card 1.4:
 * `{"type": "message", "attachments": [{"contentType":
 * "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content":
 * {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type":
 * "AdaptiveCard", "version": "1.4", "body": [TextBlock…]}}]}`: the subject in
 * a bold TextBlock, then a TextBlock per detail line (reason, outage, time,
 * alert id; for a group, a line per alert), all wrapping. Workflows answers
 * 202 Accepted.
 *
 * Alert data is not trusted. A TextBlock renders Teams's markdown subset
 * (learn.microsoft.com, "Format cards in Microsoft Teams": **bold**,
 * _italic_, lists, [links](url); no HTML; a mention needs an msteams entity,
 * which this card never has): teamsEscape puts a backslash before every
 * character that can open markup (`\ * _ ~ \` [ ] ( ) < >`), so a masked
 * link, emphasis, code or `<at>` shows as typed. `(` is escaped too so that
 * `](` never occurs: the native renderers' parser (AdaptiveCards'
 * MarkDownBlockParser) makes links from `[x](y)` even after a backslash, and
 * shows the backslashes themselves. Every TextBlock starts with our own text
 * (a tag or a label) and alert data holds no line break (email-content.ts),
 * so it can start no list. A bare URL in alert data shows as written; Teams
 * may make it clickable, naming its real address.
 *
 * A card is kept under Teams's 28 KB for a webhook message: the subject is cut
 * to 1,000 characters and, in a big group, the lines past about 24 KB become
 * one "… and N more alerts" line.
 *
 * `--notify` forms (the whole workflow URL is a secret: its `sig` signs it):
 * - shoutrrr's `teams://?host=<workflow URL, %-encoded>`;
 * - `teams+https://<host>[:port]/<path>?<query>`: https://<host>/<path>?<query>,
 *   e.g. https://prod-00.westus.logic.azure.com:443/workflows/…/triggers/manual/paths/invoke?api-version=2016-06-01&sp=…&sv=1.0&sig=….
 * `api` (either form) replaces the workflow URL's scheme://host[:port] (its
 * path and query stay). shoutrrr's retired connector form
 * `teams://group@tenant/altId/groupOwner/extraId?host=….webhook.office.com`
 * is refused with a hint, as are its `title` and `color` (the card's title
 * is the alert's subject).
 * `--config` keys: `url` (the workflow URL).
 *
 * Rate limit: Teams's documented webhook limit is 4 requests a second (with
 * lower hourly and daily ceilings); 429 and 5xx are transient (Retry-After
 * honoured), other refusals permanent. Workflows ignores Idempotency-Key: a
 * retried alert is a second card.
 */
import { ConfigError } from '../../../shared/config.ts';
import type { MessageLines } from '../email-content.ts';
import { defineKind } from './channel.ts';
import { webhookMessageChannel } from './chat-webhook.ts';
import { urlSecrets, webhookUrl } from './http-post.ts';
import { configEntry } from './config-entry.ts';
import { fitLines } from './message-channel.ts';
import { apiBase, notifyParams, schemeOf } from './notify-url.ts';

/** Bytes of TextBlocks at most: Teams takes 28 KB per webhook message, envelope included. */
const CARD_BYTES_MAX = 24_000;

export interface TeamsSettings {
  /** The Workflows webhook URL. */
  url: URL;
}

/** Alert text as inert Teams markdown: a backslash before every character that can open markup. */
export function teamsEscape(text: string): string {
  return text.replace(/[\\*_~`[\]()<>]/g, '\\$&');
}

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  weight?: 'Bolder';
  wrap: true;
}

const block = (text: string): TextBlock => ({ type: 'TextBlock', text, wrap: true });
const blockBytes = (text: string): number => Buffer.byteLength(JSON.stringify(block(text)));
/** What the title's `"weight": "Bolder"` adds to its block. */
const WEIGHT_BYTES = Buffer.byteLength(JSON.stringify({ type: 'TextBlock', text: '', weight: 'Bolder', wrap: true })) - blockBytes('');

/** The Workflows message for one alert or a group: an Adaptive Card 1.4 of TextBlocks. */
export function teamsPayload(lines: MessageLines): Record<string, unknown> {
  // A block costs its JSON and a comma; the title's block its weight besides.
  const [title, ...details] = fitLines(lines, { escape: teamsEscape, size: blockBytes, max: CARD_BYTES_MAX - WEIGHT_BYTES });
  const body: TextBlock[] = [{ type: 'TextBlock', text: title!, weight: 'Bolder', wrap: true }, ...details.map(block)];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body },
      },
    ],
  };
}

const RETIRED = /(^|\.)(webhook\.office\.com|outlook\.office\.com|outlook\.office365\.com)$/i;

function retiredHint(where: string): ConfigError {
  return new ConfigError(
    `${where}: Office 365 connector webhooks (webhook.office.com) are retired; create a Workflows webhook ("Post to a channel when a webhook request is received") and give its URL (the URL is not shown: it holds a secret).`,
  );
}

/** The query without its `api` parameter, kept as written (a workflow's sp and sig stay encoded as given). */
function withoutApi(search: string): string {
  const kept = search
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part !== '' && !/^api(=|$)/i.test(part));
  return kept.length > 0 ? `?${kept.join('&')}` : '';
}

/** A workflow URL with `api` (if given) in place of its scheme://host[:port]. */
function workflowUrl(notify: URL, workflow: URL, search: string): URL {
  if (RETIRED.test(workflow.hostname)) throw retiredHint(`${schemeOf(notify)}:// URL`);
  const base = apiBase(notify, workflow.origin);
  return new URL(`${base}${workflow.pathname}${search}`);
}

/** `teams://?host=<workflow URL>` or `teams+https://<workflow URL without https:>`, with `api`. */
export function teamsFromUrl(url: URL): TeamsSettings {
  const where = 'teams:// URL';
  if (url.protocol === 'teams+https:') {
    if (url.username || url.password || !url.hostname) throw new ConfigError(`${where}: expected teams+https://<host>/<path>?<query>, the workflow URL (the URL is not shown: it holds a secret).`);
    const workflow = new URL(`https://${url.host}${url.pathname}`);
    return { url: workflowUrl(url, workflow, withoutApi(url.search)) };
  }
  if (url.protocol !== 'teams:') throw new ConfigError(`${schemeOf(url)}:// URL: expected teams://?host=<workflow URL> or teams+https://<workflow URL>.`);
  if (url.username || url.password || url.hostname || (url.pathname !== '' && url.pathname !== '/')) throw retiredHint(where);
  const host = notifyParams(url, ['host']).get('host');
  if (!host) throw new ConfigError(`${where}: expected teams://?host=<workflow URL, %-encoded> (the URL is not shown: it holds a secret).`);
  let workflow: URL;
  try {
    workflow = new URL(host);
  } catch {
    throw new ConfigError(`${where}: the host parameter is not a URL; it is the whole workflow URL, %-encoded (the value is not shown: it holds a secret).`);
  }
  if (workflow.protocol !== 'https:' || workflow.username || workflow.password) {
    throw new ConfigError(`${where}: the host parameter must be the https:// workflow URL (the value is not shown: it holds a secret).`);
  }
  return { url: workflowUrl(url, workflow, workflow.search) };
}

/** The workflow URL, its path and query, and its signature. */
export function teamsSecrets(s: TeamsSettings): string[] {
  const sig = s.url.searchParams.get('sig');
  return [...urlSecrets([s.url]), ...(sig && sig.length >= 8 ? [sig] : [])];
}

/** A `--config` entry: `{ url }`, the workflow URL. */
export function teamsFromConfig(entry: Readonly<Record<string, unknown>>): TeamsSettings {
  const expected = 'expected the Workflows webhook URL as a string';
  const text = configEntry(entry, { kind: 'teams', keys: ['url'] }).requiredText('url', expected, expected);
  const url = webhookUrl(text, { flag: 'url', env: 'teams channel' });
  if (RETIRED.test(url.hostname)) throw retiredHint('url');
  return { url };
}

export const teamsChannel = defineKind<TeamsSettings>({
  kind: 'teams',
  groups: true,
  schemes: ['teams'],
  urlExample: 'teams+https://WORKFLOW_URL',
  fromUrl: teamsFromUrl,
  fromConfig: teamsFromConfig,
  secrets: (s) => teamsSecrets(s),
  create: (s, ctx) =>
    webhookMessageChannel(s.url, ctx, {
      // Teams: at most 4 webhook requests a second.
      rateLimit: { count: 4, perMs: 1000 },
      payload: (lines) => teamsPayload(lines),
      secrets: teamsSecrets(s),
    }),
});
