/**
 * What the hub shows: the shapes GET /api/v1/status answers with and the
 * status page (page/) renders. Plain data, times as ISO 8601 strings, made by
 * hub.ts from its in-memory roll-ups and the store's incidents. Every string
 * that came from an alert or a report is untrusted: the page escapes it.
 */
import type { TargetState } from '../../shared/wire-report.ts';
import type { ShownState } from './model.ts';

export const UPTIME_WINDOWS = ['24h', '7d', '30d', '90d'] as const;
export type UptimeWindow = (typeof UPTIME_WINDOWS)[number];
export const DAILY_BARS = 90;
export const HOURLY_BARS = 24;

/** One bar: a UTC day or hour. */
export interface BarView {
  /** Its start, ISO 8601. */
  start: string;
  checks: number;
  failures: number;
  /** 1 - failures / checks; null when no check was reported in it. */
  uptime: number | null;
  /** Incidents opened in it. */
  incidents: number;
}

export interface TargetView {
  name: string;
  /** down when its incident is open or --quorum live agents see it down; stale when no live agent watches it. */
  state: ShownState;
  /** Since when it is in that state (ISO); null when never seen change. */
  since: string | null;
  /** While stale: why ("agent a stopped", "agent a has not reported within its silence"). */
  staleWhy?: string;
  /** Each agent that watches it, with what it says. */
  agents: Array<{ name: string; state: TargetState }>;
  uptime: Record<UptimeWindow, number | null>;
  /** Response time over 24 h, from the report histograms: each a bucket's upper bound (ms), null when none. */
  responseMs: { p50: number | null; p95: number | null };
  /** DAILY_BARS bars, oldest first, the last one today. */
  daily: BarView[];
  /** HOURLY_BARS bars, oldest first, the last one this hour. */
  hourly: BarView[];
  lastFailure?: string;
  /** https: when its certificate (the soonest of the chain) expires, ISO 8601, as an agent last reported. */
  certExpiresAt?: string;
  /** A silence matches it now. */
  silenced: boolean;
}

/** silenced: held by a silence, sent when it ends if still due; skipped: never sent (see mailer/store/outbox.ts). */
export type DeliveryOutcome = 'pending' | 'retrying' | 'silenced' | 'sent' | 'dead' | 'skipped';

export interface DeliveryView {
  /** Not in the public view. */
  alertId?: string;
  channel: string;
  state: DeliveryOutcome;
  attempts: number;
  /** The last error (retrying, dead), or why it is silenced or skipped; not in the public view. */
  error?: string;
  /** When this was last recorded. */
  at: string;
}

export interface IncidentEventView {
  at: string;
  kind: 'detected' | 'confirmed' | 'alert' | 'reminder' | 'silenced' | 'resolved';
  text: string;
}

export interface IncidentView {
  id: string;
  target: string;
  state: 'open' | 'closed';
  openedAt: string;
  resolvedAt?: string;
  /** resolvedAt - openedAt, or now - openedAt while open. */
  lengthMs: number;
  /** The down alert's message and reason. */
  message: string;
  reason?: string;
  silenced: boolean;
  events: IncidentEventView[];
  deliveries: DeliveryView[];
}

export interface AgentStatusView {
  name: string;
  version: string;
  lastReportAt: string;
  targets: number;
  state: 'reporting' | 'silent' | 'stopped';
}

export interface DeadLetterView {
  id: string;
  message: string;
  receivedAt: string;
  /** channel: its last error. */
  reasons: Record<string, string>;
}

export interface SilenceView {
  id: string;
  /** A glob on the target name (route-match.ts globMatch); empty when only `match` says what it mutes. */
  target: string;
  /** Matchers (targets, to, status, channels), as routes have. */
  match?: { targets?: readonly string[]; to?: readonly string[]; status?: readonly string[]; channels?: readonly string[] };
  startsAt: string;
  until: string;
  comment: string;
  createdAt: string;
}

export interface StatusView {
  generatedAt: string;
  /** All targets known, down first, then by name (the page filters and pages them). */
  targets: TargetView[];
  agents: AgentStatusView[];
  /** Open incidents first, newest first; at most a page's worth of closed ones. */
  incidents: IncidentView[];
  deadLetters: DeadLetterView[];
  silences: SilenceView[];
}
