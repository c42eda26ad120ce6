/**
 * The hub's views (status-view.ts) for the page and the JSON API, from the
 * hub's memory (targets, buckets, agents, silences) and the store (incidents
 * with their deliveries, dead letters): a page costs the same few store
 * queries whatever the number of targets. A target's bars are computed only
 * when read (getters): the page reads them for the rows it shows, and
 * /api/v1/status, which serialises own fields only, leaves them out.
 */
import type { DeliveryRow, HubStorage, IncidentQuery, IncidentRecord, SilenceRow } from './model.ts';
import type { StatusHub } from './hub.ts';
import { quantileMs } from './rollup.ts';
import type { BarView, DeliveryView, IncidentView, SilenceView, StatusView, TargetView, UptimeWindow } from './status-view.ts';
import type { TargetEntry } from './target-board.ts';

export const HISTORY_WINDOWS = ['24h', '7d', '90d'] as const;
export type HistoryWindow = (typeof HISTORY_WINDOWS)[number];
const OPEN_ON_PAGE = 500;
const CLOSED_ON_PAGE = 20;
const DEAD_ON_PAGE = 20;
const iso = (ms: number): string => new Date(ms).toISOString();

class EntryView implements TargetView {
  readonly name: string;
  readonly state: TargetView['state'];
  readonly since: string | null;
  readonly agents: TargetView['agents'];
  readonly uptime: Record<UptimeWindow, number | null>;
  readonly responseMs: TargetView['responseMs'];
  readonly silenced: boolean;
  readonly lastFailure?: string;
  readonly staleWhy?: string;
  readonly #e: TargetEntry;
  readonly #now: number;

  constructor(e: TargetEntry, now: number, silenced: boolean) {
    this.#e = e;
    this.#now = now;
    this.name = e.name;
    this.state = e.state;
    this.since = e.since === null ? null : iso(e.since);
    this.agents = [...e.agents].map(([name, v]) => ({ name, state: v.state })).sort((a, b) => (a.name < b.name ? -1 : 1));
    this.uptime = { '24h': e.rollup.uptime('24h', now), '7d': e.rollup.uptime('7d', now), '30d': e.rollup.uptime('30d', now), '90d': e.rollup.uptime('90d', now) };
    const latency = e.rollup.latency24h(now);
    this.responseMs = { p50: quantileMs(latency, 0.5), p95: quantileMs(latency, 0.95) };
    this.silenced = silenced;
    if (e.lastFailure !== null) this.lastFailure = e.lastFailure;
    if (e.staleWhy !== null) this.staleWhy = e.staleWhy;
  }

  get daily(): BarView[] {
    return this.#e.rollup.daily(this.#now);
  }

  get hourly(): BarView[] {
    return this.#e.rollup.hourly(this.#now);
  }
}

const ORDER = { down: 0, stale: 1, unknown: 2, up: 3 } as const;

export class StatusViews {
  readonly #hub: StatusHub;
  readonly #store: HubStorage;
  readonly #now: () => number;

  constructor(hub: StatusHub, store: HubStorage, now: () => number = Date.now) {
    this.#hub = hub;
    this.#store = store;
    this.#now = now;
  }

  /** Every target, down first, then by name. */
  targets(): TargetView[] {
    const now = this.#now();
    return [...this.#hub.targets.all()]
      .map((e) => new EntryView(e, now, this.#hub.silences.matching(e.name, now) !== undefined))
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  target(name: string): TargetView | undefined {
    const e = this.#hub.targets.get(name);
    const now = this.#now();
    return e ? new EntryView(e, now, this.#hub.silences.matching(name, now) !== undefined) : undefined;
  }

  /** GET /api/v1/status: targets (without their bars), agents, open incidents, silences. */
  async apiStatus(): Promise<Pick<StatusView, 'generatedAt' | 'targets' | 'agents' | 'incidents' | 'silences'>> {
    const now = this.#now();
    const incidents = await this.incidents({ state: 'open', limit: OPEN_ON_PAGE });
    return { generatedAt: iso(now), targets: this.targets(), agents: this.#agents(), incidents, silences: this.#hub.silences.list(now).map(silenceView) };
  }

  #agents(): StatusView['agents'] {
    return this.#hub.registry.list().map((a) => ({ name: a.name, version: a.version, lastReportAt: a.lastReportAt, targets: a.targets, state: a.state }));
  }

  async status(): Promise<StatusView> {
    const now = this.#now();
    const [incidents, dead] = await Promise.all([this.pageIncidents(), this.#store.list({ state: 'dead', limit: DEAD_ON_PAGE })]);
    return {
      generatedAt: iso(now),
      targets: this.targets(),
      agents: this.#agents(),
      incidents,
      deadLetters: dead.alerts.map((a) => ({
        id: a.id,
        message: a.alert.message,
        receivedAt: a.receivedAt,
        reasons: Object.fromEntries(Object.entries(a.channels).filter(([, c]) => c.state === 'dead').map(([name, c]) => [name, c.error ?? 'gave up'])),
      })),
      silences: this.#hub.silences.list(now).map(silenceView),
    };
  }

  /** The incidents the page shows: every open one (up to 500), then the latest closed ones. */
  async pageIncidents(): Promise<IncidentView[]> {
    const [open, closed] = await Promise.all([this.incidents({ state: 'open', limit: OPEN_ON_PAGE }), this.incidents({ state: 'closed', limit: CLOSED_ON_PAGE })]);
    return [...open, ...closed];
  }

  async incidents(query: IncidentQuery): Promise<IncidentView[]> {
    const now = this.#now();
    return (await this.#store.incidents(query)).map((r) => incidentView(r, now));
  }

  /** A target's bars over a window: hourly for 24h and 7d, daily for 90d. */
  history(name: string, window: HistoryWindow): { target: string; window: HistoryWindow; bucketMs: number; bars: BarView[] } | undefined {
    const e = this.#hub.targets.get(name);
    if (!e) return undefined;
    const now = this.#now();
    if (window === '90d') return { target: name, window, bucketMs: 86_400_000, bars: e.rollup.daily(now) };
    return { target: name, window, bucketMs: 3_600_000, bars: e.rollup.hourly(now, window === '24h' ? 24 : 168) };
  }
}

/** A silence as the page and the API show it. */
export function silenceView(s: SilenceRow): SilenceView {
  return { id: s.id, target: s.target, startsAt: iso(s.startsAt), until: iso(s.until), comment: s.comment, createdAt: iso(s.createdAt) };
}

function deliveryView(d: DeliveryRow): DeliveryView {
  const state = d.state === 'delivered' ? 'sent' : d.state === 'dead' ? 'dead' : d.attempts > 0 ? 'retrying' : 'pending';
  const view: DeliveryView = { alertId: d.alertId, channel: d.channel, state, attempts: d.attempts, at: iso(d.at) };
  if (d.error !== null) view.error = d.error;
  return view;
}

function incidentView(r: IncidentRecord, now: number): IncidentView {
  const view: IncidentView = {
    id: r.id,
    target: r.target,
    state: r.state,
    openedAt: iso(r.openedAt),
    lengthMs: Math.max(0, (r.resolvedAt ?? now) - r.openedAt),
    message: r.message,
    silenced: r.silenced,
    events: r.events.map((e) => ({ at: iso(e.at), kind: e.kind, text: e.text })),
    deliveries: r.deliveries.map(deliveryView),
  };
  if (r.resolvedAt !== null) view.resolvedAt = iso(r.resolvedAt);
  if (r.reason !== null) view.reason = r.reason;
  return view;
}
