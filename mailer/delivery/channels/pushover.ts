/**
 * Pushover: each alert, or a group of them, as one push notification, after
 * Pushover's message API (https://pushover.net/api): `POST
 * https://api.pushover.net/1/messages.json {"token", "user", "message",
 * "title", "priority"[, "device"]}` as JSON over http-post.ts.
 *
 * The title is the alert's subject (cut to Pushover's 250 characters), the
 * message its details, one per line (cut to 1,024). Priority 0 (normal) for
 * down, -1 (quiet: no sound or vibration) for up; a `priority` setting (-2
 * to 1) replaces the down priority, and up alerts never get more than -1.
 * Priority 1 bypasses the user's quiet hours, so it is theirs to ask for;
 * 2 (emergency) needs retry and expire and an acknowledgement, and is
 * refused. HTML stays off (no `html: 1`), so alert text shows as typed (a
 * bare URL in it may be made clickable, naming its real address).
 *
 * Pushover's answers: 4xx other than 429 are permanent, the body
 * `{"status": 0, "errors": [...]}` named in the reason; 429 (the monthly
 * quota is used up) and 5xx are transient, and no retry comes sooner than
 * 5 s, as Pushover asks of clients; network errors too. Pushover publishes
 * no per-second limit (a monthly message quota instead): no rateLimit, and
 * two requests at once at the most.
 *
 * `--notify` (shoutrrr's form): `pushover://shoutrrr:<apiToken>@<userKey>/`
 * with parameters devices (a list of device names), priority, title (the
 * notification's title; the alert's subject then opens the message), api.
 * Others are refused. `--config` keys: token, user, devices (a list),
 * priority, title. The token and the user key are secrets.
 */
import { ConfigError } from '../../../shared/config.ts';
import { permanent, type SendResult, transient } from '../../../shared/send-result.ts';
import { cut, flatten } from '../../../shared/text.ts';
import type { MessageLines } from '../email-content.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost, webhookOrigin } from './http-post.ts';
import { messageChannel } from './message-channel.ts';
import { apiBase, decodedPart, notifyParams } from './notify-url.ts';

const DEFAULT_API = 'https://api.pushover.net';
const DOWN_PRIORITY = 0;
const UP_PRIORITY = -1;
const TITLE_MAX = 250;
const MESSAGE_MAX = 1024;
/** Pushover: do not retry sooner than 5 seconds. */
const MIN_RETRY_MS = 5_000;
const CONCURRENCY = 2;
const CONFIG_KEYS = ['token', 'user', 'devices', 'priority', 'title'];

export interface PushoverSettings {
  /** POST here: <api>/1/messages.json. */
  url: URL;
  /** The application's API token (a secret). */
  token: string;
  /** The user or group key (a secret). */
  user: string;
  /** None: all the user's devices. */
  devices: string[];
  /** Of a down alert; an up alert gets at most UP_PRIORITY. */
  priority: number;
  /** A fixed notification title (the alert's subject then opens the message). */
  title?: string;
}

export function pushoverPayload(settings: PushoverSettings, lines: MessageLines, items: readonly QueuedAlert[]): Record<string, unknown> {
  const down = items.some((i) => i.alert.status === 'down');
  const text = settings.title === undefined ? lines.details : [lines.title, ...lines.details];
  return {
    token: settings.token,
    user: settings.user,
    message: cut(text.join('\n'), MESSAGE_MAX),
    title: cut(settings.title ?? lines.title, TITLE_MAX),
    priority: down ? settings.priority : Math.min(settings.priority, UP_PRIORITY),
    ...(settings.devices.length > 0 ? { device: settings.devices.join(',') } : {}),
  };
}

/** A refusal's reason: Pushover's `errors`, the secrets taken out; undefined when the body is not Pushover's. */
export function pushoverErrors(body: string, secrets: readonly string[]): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  let text = errors.map((e) => String(e)).join('; ');
  for (const secret of secrets) text = text.split(secret).join('…');
  return flatten(text, 300);
}

interface PushoverParts {
  api: string;
  token: string;
  user: string;
  devices?: string[];
  priority?: string;
  title?: string;
}

function settingsOf(parts: PushoverParts, fail: (key: string, problem: string) => ConfigError): PushoverSettings {
  // Pushover: tokens and user keys are 30 characters, case-sensitive letters and digits.
  if (!/^[A-Za-z0-9]{30}$/.test(parts.token)) throw fail('token', 'expected the 30-character application API token');
  if (!/^[A-Za-z0-9]{30}$/.test(parts.user)) throw fail('user', 'expected the 30-character user or group key');
  const devices = (parts.devices ?? []).map((d) => d.trim()).filter((d) => d !== '');
  if (devices.some((d) => !/^[A-Za-z0-9_-]{1,25}$/.test(d))) throw fail('devices', 'expected device names of up to 25 letters, digits, _ or -');
  let priority = DOWN_PRIORITY;
  if (parts.priority !== undefined) {
    const p = parts.priority.trim();
    if (p === '2') throw fail('priority', 'emergency priority (2) is not supported: it needs retry, expire and an acknowledgement');
    if (!/^(-2|-1|0|1)$/.test(p)) throw fail('priority', 'expected -2, -1, 0 or 1');
    priority = Number(p);
  }
  const title = parts.title?.trim();
  if (title !== undefined && (title === '' || /[\u0000-\u001f\u007f]/.test(title))) throw fail('title', 'expected one line of text');
  return {
    url: new URL(`${parts.api.replace(/\/+$/, '')}/1/messages.json`),
    token: parts.token,
    user: parts.user,
    devices,
    priority,
    ...(title !== undefined ? { title: cut(title, TITLE_MAX) } : {}),
  };
}

/** shoutrrr's `pushover://shoutrrr:<apiToken>@<userKey>/[?devices=…&priority=…&title=…]`. */
export function pushoverSettingsFromUrl(url: URL): PushoverSettings {
  const fail = (key: string, problem: string) => new ConfigError(`pushover:// URL: ${key}: ${problem} (the URL is not shown).`);
  const params = notifyParams(url, ['devices', 'priority', 'title']);
  if (url.hash || (url.pathname !== '' && url.pathname !== '/')) throw fail('path', 'expected pushover://shoutrrr:<apiToken>@<userKey>/ with nothing after the /');
  if (!url.password) throw fail('token', 'expected pushover://shoutrrr:<apiToken>@<userKey>/');
  return settingsOf(
    {
      api: apiBase(url, DEFAULT_API),
      token: decodedPart(url, url.password, 'token'),
      user: decodedPart(url, url.hostname, 'user key'),
      ...(params.has('devices') ? { devices: params.get('devices')!.split(',') } : {}),
      ...(params.has('priority') ? { priority: params.get('priority')! } : {}),
      ...(params.has('title') ? { title: params.get('title')! } : {}),
    },
    fail,
  );
}

/** A `--config` entry: { token, user, devices?, priority?, title? }. */
export function pushoverSettingsFromConfig(entry: Readonly<Record<string, unknown>>): PushoverSettings {
  const e = configEntry(entry, { kind: 'pushover', keys: CONFIG_KEYS, numbers: ['priority'] });
  const token = e.requiredText('token', 'required: the application API token');
  const user = e.requiredText('user', 'required: the user or group key');
  const devices = e.list('devices', 'expected a list of device names');
  const priority = e.text('priority');
  const title = e.text('title');
  return settingsOf(
    {
      api: DEFAULT_API,
      token,
      user,
      ...(devices !== undefined ? { devices } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(title !== undefined ? { title } : {}),
    },
    e.fail,
  );
}

/** No retry sooner than Pushover asks. */
function patient(result: SendResult): SendResult {
  if (result.ok || !result.retry) return result;
  return transient(result.error, Math.max(MIN_RETRY_MS, result.retryAfterMs ?? 0));
}

export const pushoverChannel = defineKind<PushoverSettings>({
  kind: 'pushover',
  schemes: ['pushover'],
  urlExample: 'pushover://shoutrrr:TOKEN@USER/',
  groups: true,
  fromUrl: pushoverSettingsFromUrl,
  fromConfig: pushoverSettingsFromConfig,
  secrets: (s) => [s.token, s.user],
  create: (settings, ctx) => {
    const http = createHttpPost({ url: settings.url, timeoutMs: ctx.httpTimeoutMs });
    const where = webhookOrigin(settings.url);
    const refusal = (status: number, body: string): SendResult | undefined => {
      if (status === 429 || status >= 500 || status < 400) return undefined;
      const errors = pushoverErrors(body, [settings.token, settings.user]);
      return errors === undefined ? undefined : permanent(`${where} answered HTTP ${status}: ${errors}`);
    };
    return messageChannel({
      name: ctx.name,
      concurrency: Math.min(CONCURRENCY, http.connections),
      say: async (lines, items, signal) => patient(await http.send({ body: pushoverPayload(settings, lines, items), refusal }, signal)),
      close: () => http.close(),
    });
  },
});
