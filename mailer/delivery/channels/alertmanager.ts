/**
 * Prometheus Alertmanager, over its API v2 (prometheus.io "Sending alerts"
 * and "Alerts API"; api/v2/openapi.yaml): alerts are POSTed, as a JSON array
 * of postable alerts, to <base>/api/v2/alerts over http-post.ts.
 *
 * An alert is `{"labels": {"alertname": "TargetDown", "target", "instance"},
 * "annotations": {"summary", "description", "reason"?, "incident"?},
 * "startsAt", "endsAt"}`. Labels are its identity in Alertmanager, so they
 * hold only what names the target (its URL, and its host[:port] as
 * `instance`; an alert without a target names its recipient); a down and its
 * up carry the very same labels. There is no generatorURL: alert data is not
 * trusted, and would become a link.
 *
 * Alertmanager expects clients to re-send an alert as long as it is active,
 * and resolves it at endsAt (Prometheus sets endsAt = now + 4 × its resend
 * interval, so that a few lost posts do no harm). So:
 * - a down is posted with startsAt = its time and endsAt = now + 4 × repeat;
 *   once posted, the channel keeps it in memory (by its labels);
 * - one timer (unref'd, cleared in close()) re-posts every kept alert every
 *   `repeat` (default 1m), in one request per 256 alerts, endsAt again
 *   now + 4 × repeat; a failed re-post is logged and tried at the next tick;
 * - an agent reminder re-posts its alert at once, and keeps or takes it on
 *   (startsAt = its time minus downForMs: after a restart, too);
 * - the up is forgotten and posted once with endsAt = its time (at the
 *   latest now), which resolves the alert: Alertmanager takes an explicit
 *   endsAt in the past as the end. It waits for a re-post under way, so
 *   that no firing copy lands after it. An up that cannot be delivered still
 *   ends the re-posts: the alert then expires at its endsAt, 4 × repeat on.
 * - Bounds: an alert not heard of (down or reminder) for 24 h is no longer
 *   re-posted (a lost up cannot keep it firing for ever), and at most 10,000
 *   are kept (the least recently heard of is dropped). Either then expires
 *   in Alertmanager within 4 × repeat; so does every kept alert when the
 *   mailer stops, until the agent's next reminder posts it again.
 *
 * 2xx is sent; 400 (a validation error) and other refusals are permanent;
 * 408, 429, 5xx and network errors transient.
 *
 * `--notify alertmanager://[user:pass@]host:port[/prefix][?repeat=1m]` (http;
 * `alertmanager+https://…` for https; `api` replaces the base); a config
 * entry `{ kind: alertmanager, url: http(s)://[user:pass@]host:port[/prefix],
 * repeat? }`. user:pass is sent as basic auth and is a secret.
 */
import { ConfigError } from '../../../shared/config.ts';
import { formatDurationCoarse, parseDuration } from '../../../shared/duration.ts';
import type { SendResult } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { type Channel, type ChannelContext, defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost } from './http-post.ts';
import { apiBase, decodedPart, notifyParams, schemeOf } from './notify-url.ts';

export const ALERT_NAME = 'TargetDown';
export const DEFAULT_REPEAT_MS = 60_000;
const REPEAT_MIN_MS = 1000;
const REPEAT_MAX_MS = 3_600_000;
/** An alert not heard of this long is no longer re-posted. */
export const MAX_REFRESH_MS = 24 * 3_600_000;
/** Alerts kept for re-posting at most. */
export const MAX_KEPT = 10_000;
/** Alerts per re-post request (Prometheus's notifier batches 256 at most, too). */
const BATCH = 256;

export interface AlertmanagerSettings {
  /** <base>/api/v2/alerts, without credentials. */
  url: URL;
  username?: string;
  password?: string;
  repeatMs: number;
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** host[:port] of a target URL ("http://insideweb:80/" → "insideweb:80"), else undefined. */
function targetHost(target: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(target)?.[1];
  const host = authority?.slice(authority.lastIndexOf('@') + 1);
  return host ? flatten(host, 255) : undefined;
}

/** What names the alert in Alertmanager: the same on a down, its reminders and its up. */
export function alertLabels(alert: QueuedAlert['alert']): Record<string, string> {
  const labels: Record<string, string> = { alertname: ALERT_NAME };
  if (alert.target === undefined) {
    labels.recipient = flatten(alert.to, 300);
    return labels;
  }
  labels.target = flatten(alert.target, 1000);
  const instance = targetHost(alert.target);
  if (instance) labels.instance = instance;
  return labels;
}

export function alertAnnotations(alert: QueuedAlert['alert']): Record<string, string> {
  const message = flatten(alert.message, 1000);
  const annotations: Record<string, string> = { summary: alert.target !== undefined ? flatten(`${alert.target} — ${message}`, 1024) : message };
  const description = [message];
  if (alert.reason !== undefined) description.push(`Reason: ${flatten(alert.reason, 1000)}.`);
  if (alert.downForMs !== undefined) description.push(`Down for ${formatDurationCoarse(alert.downForMs)}.`);
  annotations.description = description.join(' ');
  if (alert.reason !== undefined) annotations.reason = flatten(alert.reason, 1000);
  if (alert.incident !== undefined) annotations.incident = flatten(alert.incident, 300);
  return annotations;
}

/** The alert's own time (ms), else when the mailer took it. */
function timeOf(item: QueuedAlert): number {
  const t = item.alert.time === undefined ? Number.NaN : Date.parse(item.alert.time);
  return Number.isNaN(t) ? item.receivedAt : t;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const keyOf = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

interface Kept {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  /** When its down or last reminder came (ms). */
  heard: number;
}

/** A channel that can say when its re-posts are done (tests step the clock with it). */
export interface AlertmanagerChannel extends Channel {
  /** Resolves once no re-post is under way. */
  idle(): Promise<void>;
}

export function createAlertmanagerChannel(s: AlertmanagerSettings, ctx: Pick<ChannelContext, 'name' | 'log' | 'httpTimeoutMs'>): AlertmanagerChannel {
  const auth = s.username !== undefined || s.password !== undefined ? { authorization: `Basic ${Buffer.from(`${s.username ?? ''}:${s.password ?? ''}`).toString('base64')}` } : undefined;
  const http = createHttpPost({ url: s.url, timeoutMs: ctx.httpTimeoutMs, ...(auth ? { headers: auth } : {}) });
  const kept = new Map<string, Kept>();
  const closing = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let reposting: Promise<void> | undefined;

  const post = (alerts: PostableAlert[], signal: AbortSignal): Promise<SendResult> => http.send({ body: alerts }, signal);
  const firing = (k: Kept, now: number): PostableAlert => ({ labels: k.labels, annotations: k.annotations, startsAt: iso(k.startsAt), endsAt: iso(now + 4 * s.repeatMs) });

  function stopTimerIfIdle(): void {
    if (kept.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  async function repost(): Promise<void> {
    const now = Date.now();
    for (const [key, k] of kept) if (now - k.heard > MAX_REFRESH_MS) kept.delete(key);
    stopTimerIfIdle();
    const alerts = [...kept.values()].map((k) => firing(k, now));
    for (let i = 0; i < alerts.length && !closing.signal.aborted; i += BATCH) {
      const result = await post(alerts.slice(i, i + BATCH), closing.signal);
      if (!result.ok && !closing.signal.aborted) ctx.log.warn(`${ctx.name}: re-posting ${alerts.length} active alert(s) failed (next try in ${formatDurationCoarse(s.repeatMs)}): ${result.error}`);
    }
  }

  function tick(): void {
    if (reposting) return; // the last one still runs: one at a time
    reposting = repost().finally(() => {
      reposting = undefined;
    });
  }

  function keep(key: string, k: Kept): void {
    kept.delete(key); // re-inserted last: the map is in the order alerts were last heard of
    kept.set(key, k);
    while (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
    if (timer === undefined && !closing.signal.aborted) {
      timer = setInterval(tick, s.repeatMs);
      timer.unref();
    }
  }

  return {
    name: ctx.name,
    concurrency: http.connections,
    async send(item, { signal }) {
      const { alert } = item;
      const labels = alertLabels(alert);
      const key = keyOf(labels);
      const annotations = alertAnnotations(alert);
      const now = Date.now();
      const was = kept.get(key);
      if (alert.status === 'up') {
        kept.delete(key);
        stopTimerIfIdle();
        // A firing re-post already under way must not land after the resolve.
        await reposting;
        const endsAt = Math.min(timeOf(item), now);
        const startsAt = Math.min(was?.startsAt ?? endsAt - (alert.downForMs ?? 0), endsAt);
        return post([{ labels, annotations, startsAt: iso(startsAt), endsAt: iso(endsAt) }], signal);
      }
      const since = alert.reminder !== undefined && alert.downForMs !== undefined ? timeOf(item) - alert.downForMs : timeOf(item);
      const k: Kept = { labels, annotations, startsAt: Math.min(was?.startsAt ?? since, now), heard: now };
      const result = await post([firing(k, now)], signal);
      if (result.ok) keep(key, k);
      return result;
    },
    idle: async () => {
      await reposting;
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      closing.abort();
      await http.close();
    },
  };
}

function repeatOf(text: string, where: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms >= REPEAT_MIN_MS && ms <= REPEAT_MAX_MS)) throw new ConfigError(`${where}: expected a duration from 1s to 1h, e.g. 1m.`);
  return ms;
}

function endpoint(base: string, scheme: string): URL {
  try {
    return new URL(`${base}/api/v2/alerts`);
  } catch {
    throw new ConfigError(`${scheme}: the host is not valid (the URL is not shown).`);
  }
}

function credentials(url: URL, where: string): Pick<AlertmanagerSettings, 'username' | 'password'> {
  return {
    ...(url.username ? { username: decodedPart(url, url.username, `${where} user name`) } : {}),
    ...(url.password ? { password: decodedPart(url, url.password, `${where} password`) } : {}),
  };
}

/** `alertmanager://[user:pass@]host:port[/prefix][?repeat=…][&api=…]`; `alertmanager+https://…` for https. */
export function alertmanagerFromUrl(url: URL): AlertmanagerSettings {
  const protocol = url.protocol.toLowerCase();
  if (protocol !== 'alertmanager:' && protocol !== 'alertmanager+https:') throw new ConfigError(`${schemeOf(url)}:// URL: expected alertmanager:// or alertmanager+https://.`);
  const params = notifyParams(url, ['repeat']);
  if (!url.hostname) throw new ConfigError('alertmanager:// URL: expected alertmanager://host:port (the URL has no host).');
  const base = apiBase(url, `${protocol === 'alertmanager:' ? 'http' : 'https'}://${url.host}${url.pathname}`);
  return {
    url: endpoint(base, 'alertmanager:// URL'),
    ...credentials(url, 'URL'),
    repeatMs: params.has('repeat') ? repeatOf(params.get('repeat')!, 'alertmanager:// URL: repeat') : DEFAULT_REPEAT_MS,
  };
}

/** A `--config` entry: `{ url, repeat? }`. */
export function alertmanagerFromConfig(entry: Readonly<Record<string, unknown>>): AlertmanagerSettings {
  const e = configEntry(entry, { kind: 'alertmanager', keys: ['url', 'repeat'], numbers: ['repeat'] });
  const expected = 'expected the Alertmanager as http(s)://[user:pass@]host:port[/prefix] (the value is not shown: it may hold a password)';
  const text = e.requiredText('url', expected, expected);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw e.fail('url', expected);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname || url.search || url.hash) throw e.fail('url', expected);
  const repeat = e.text('repeat', 'expected a duration such as 1m');
  return {
    url: endpoint(`${url.origin}${url.pathname}`.replace(/\/+$/, ''), 'url'),
    ...credentials(url, 'url'),
    repeatMs: repeat === undefined ? DEFAULT_REPEAT_MS : repeatOf(repeat, 'repeat'),
  };
}

export const alertmanagerChannel = defineKind<AlertmanagerSettings>({
  kind: 'alertmanager',
  groups: false,
  schemes: ['alertmanager'],
  urlExample: 'alertmanager://host:9093',
  fromUrl: alertmanagerFromUrl,
  fromConfig: alertmanagerFromConfig,
  secrets: (s) => {
    if (s.password === undefined) return [];
    const pair = `${s.username ?? ''}:${s.password}`;
    return [s.password, encodeURIComponent(s.password), pair, Buffer.from(pair).toString('base64')];
  },
  create: (s, ctx) => createAlertmanagerChannel(s, ctx),
});
