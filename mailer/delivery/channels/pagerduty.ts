/**
 * PagerDuty, over its Events API v2 (developer.pagerduty.com, "Send an Alert
 * Event", "Events API v2 Overview", "Events API Rate Limits"): each alert is
 * one JSON POST to https://events.pagerduty.com/v2/enqueue over http-post.ts.
 *
 * - A down triggers: `{"routing_key", "event_action": "trigger", "dedup_key",
 *   "payload": {"summary", "source", "severity", "timestamp", "class",
 *   "custom_details"}, "client": "ch2"}`. summary is the alert's subject
 *   (at most 1,024 characters, PagerDuty's limit), source the target's
 *   host[:port] (PagerDuty asks for a hostname), custom_details the alert's
 *   fields. No links or images: alert data is not trusted.
 * - Its up resolves: `{"routing_key", "event_action": "resolve", "dedup_key"}`
 *   (all a resolve takes).
 * - dedup_key is the incident: alert.incident ?? alert.target ?? alert.id (at
 *   most 255 characters; a longer one is replaced by its SHA-256), so the up
 *   resolves what its down opened, and a retried trigger is the same alert.
 * - A reminder (alert.reminder) sends nothing (sent, "reminder: not sent"):
 *   reminders do not create incidents. PagerDuty's own escalation policy does
 *   the nagging while its incident is open, and a reminder re-triggering an
 *   incident someone resolved there would open a new one.
 *
 * 202 is sent; 400 (an invalid event) and other refusals are permanent; 429
 * is transient after Retry-After, else after 30 s (PagerDuty: "retrying 3
 * times with each request being 30 seconds apart"); 5xx and network errors
 * are transient. About 120 events a minute per routing key (rateLimit).
 *
 * `--notify pagerduty://<routing-key>[?severity=critical|error|warning|info]`
 * (the host is the 32-character integration key; `api` replaces
 * https://events.pagerduty.com, e.g. the EU's https://events.eu.pagerduty.com);
 * a config entry `{ kind: pagerduty, routingKey, severity?, api? }`. The
 * routing key is a secret: it is in no error text.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../../../shared/config.ts';
import { type SendResult, sent, transient } from '../../../shared/send-result.ts';
import { flatten } from '../../../shared/text.ts';
import type { QueuedAlert } from '../../queued-alert.ts';
import { formatDurationCoarse } from '../../../shared/duration.ts';
import { alertTime, emailContent } from '../email-content.ts';
import { defineKind } from './channel.ts';
import { configEntry } from './config-entry.ts';
import { createHttpPost } from './http-post.ts';
import { apiBase, notifyParams, schemeOf } from './notify-url.ts';

export const PAGERDUTY_API = 'https://events.pagerduty.com';
export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
const SUMMARY_MAX = 1024;
const DEDUP_KEY_MAX = 255;
/** A 429 without Retry-After: PagerDuty's own advice, 30 s apart. */
export const PAGERDUTY_BACKOFF_MS = 30_000;
const KEY = /^[A-Za-z0-9]{32}$/;

export interface PagerDutySettings {
  routingKey: string;
  severity: Severity;
  /** The Events API v2 endpoint: <api>/v2/enqueue. */
  url: URL;
}

/** The incident an alert belongs to, as PagerDuty's dedup_key. */
export function dedupKey(alert: QueuedAlert['alert']): string {
  const key = alert.incident ?? alert.target ?? alert.id;
  return key.length <= DEDUP_KEY_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** host[:port] of a target URL ("http://insideweb:80/" → "insideweb:80"), else undefined. */
export function targetHost(target: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(target)?.[1];
  const host = authority?.slice(authority.lastIndexOf('@') + 1);
  return host ? flatten(host, 255) : undefined;
}

/** The event PagerDuty gets for an alert. */
export function pagerdutyEvent(item: QueuedAlert, routingKey: string, severity: Severity): Record<string, unknown> {
  const { alert } = item;
  const dedup_key = dedupKey(alert);
  if (alert.status === 'up') return { routing_key: routingKey, event_action: 'resolve', dedup_key };
  // A reminder has the summary of its down: it is the same alert in PagerDuty.
  const summary = emailContent({ ...item, alert: { ...alert, reminder: undefined } }).subject;
  const time = alertTime(item);
  const details: Record<string, string | number> = { message: flatten(alert.message, 2000) };
  if (alert.target !== undefined) details.target = flatten(alert.target, 1000);
  if (alert.reason !== undefined) details.reason = flatten(alert.reason, 1000);
  if (alert.downForMs !== undefined) details.down_for = formatDurationCoarse(alert.downForMs);
  if (alert.reminder !== undefined) details.reminder = alert.reminder;
  if (alert.incident !== undefined) details.incident = flatten(alert.incident, 300);
  details.alert_id = flatten(alert.id, 300);
  details.recipient = flatten(alert.to, 300);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: flatten(summary, SUMMARY_MAX),
      source: (alert.target !== undefined ? targetHost(alert.target) : undefined) ?? 'ch2',
      severity,
      timestamp: Number.isNaN(Date.parse(time)) ? new Date(item.receivedAt).toISOString() : time,
      class: 'target down',
      custom_details: details,
    },
    client: 'ch2',
  };
}

function severityOf(value: unknown, where: string): Severity {
  if (typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value.toLowerCase())) return value.toLowerCase() as Severity;
  throw new ConfigError(`${where}: expected one of ${SEVERITIES.join(', ')}.`);
}

function routingKeyOf(value: unknown, where: string): string {
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw new ConfigError(`${where}: expected the 32-character Events API v2 integration key, letters and digits (the value is not shown: it is a secret).`);
  }
  return value;
}

function endpoint(base: string): URL {
  return new URL(`${base}/v2/enqueue`);
}

/** `pagerduty://<routing-key>[?severity=…][&api=…]`. */
export function pagerdutyFromUrl(url: URL): PagerDutySettings {
  if (schemeOf(url) !== 'pagerduty') throw new ConfigError(`${schemeOf(url)}:// URL: not a pagerduty:// URL.`);
  const params = notifyParams(url, ['severity']);
  if (url.username || url.password || url.port || (url.pathname !== '' && url.pathname !== '/')) {
    throw new ConfigError('pagerduty:// URL: expected pagerduty://<routing-key>, nothing before or after the key (the URL is not shown: it holds a secret).');
  }
  return {
    routingKey: routingKeyOf(url.hostname, 'pagerduty:// URL: the host'),
    severity: params.has('severity') ? severityOf(params.get('severity'), 'pagerduty:// URL: severity') : 'critical',
    url: endpoint(apiBase(url, PAGERDUTY_API)),
  };
}

/** A `--config` entry: `{ routingKey, severity?, api? }`. */
export function pagerdutyFromConfig(entry: Readonly<Record<string, unknown>>): PagerDutySettings {
  const base = configEntry(entry, { kind: 'pagerduty', keys: ['routingKey', 'severity', 'api'] }).api(PAGERDUTY_API);
  return {
    routingKey: routingKeyOf(entry.routingKey, 'routingKey'),
    severity: entry.severity === undefined ? 'critical' : severityOf(entry.severity, 'severity'),
    url: endpoint(base),
  };
}

/** The routing key taken out of an error line (PagerDuty's answer could quote the event). */
function scrubbed(result: SendResult, key: string): SendResult {
  return result.ok ? result : { ...result, error: result.error.split(key).join('…') };
}

export const pagerdutyChannel = defineKind<PagerDutySettings>({
  kind: 'pagerduty',
  groups: false,
  schemes: ['pagerduty'],
  urlExample: 'pagerduty://ROUTING_KEY',
  fromUrl: pagerdutyFromUrl,
  fromConfig: pagerdutyFromConfig,
  secrets: (s) => [s.routingKey],
  create: (s, ctx) => {
    const http = createHttpPost({ url: s.url, timeoutMs: ctx.httpTimeoutMs });
    return {
      name: ctx.name,
      concurrency: http.connections,
      // "approximately 120 calls/minute per integration key".
      rateLimit: { count: 120, perMs: 60_000 },
      async send(item, { signal }) {
        if (item.alert.reminder !== undefined) return sent('reminder: not sent (PagerDuty keeps its incident open)');
        let refused = 0;
        const result = await http.send({ body: pagerdutyEvent(item, s.routingKey, s.severity), refusal: (status) => void (refused = status) }, signal);
        // 429 without Retry-After: not the dispatcher's quick first retry, PagerDuty's 30 s.
        if (refused === 429 && !result.ok && result.retryAfterMs === undefined) return scrubbed(transient(result.error, PAGERDUTY_BACKOFF_MS), s.routingKey);
        return scrubbed(result, s.routingKey);
      },
      close: () => http.close(),
    };
  },
});
