/**
 * The hub's views (status-view.ts) for the page and the JSON API, from the
 * hub's memory (targets, buckets, agents, silences) and the store (incidents
 * with their deliveries, dead letters): a page costs the same few store
 * queries whatever the number of targets. A target's bars are computed only
 * when read (getters): the page reads them for the rows it shows, and
 * /api/v1/status, which serialises own fields only, leaves them out. The
 * page's list (status()) goes further: every target is sorted by its state
 * and name, and the rest of its view (uptimes, response times, silence) is
 * made when first read (ListedView), for the 50 rows a page shows.
 *
 * Every view is made for an audience: 'all' (the token's holder: access.ts
 * seesAll) or 'public' (--public-status without the token, or any reader
 * but loopback without --token). The public view is redacted here, once,
 * for every renderer (the page, the API, the event stream's fragment): no
 * recipients (an alert or reminder event says only what it was), no error
 * text (deliveries keep their channel and outcome), no alert ids (an
 * incident's id, which for a hand-made alert is made of the alert's, is
 * shown as a digest of it: the same on every render, so the live page can
 * follow it), and no dead letters; hubEvent does the same to the event
 * stream's incident events.
 */
import type { DeliveryRow, HubStorage, IncidentEvent, IncidentQuery, IncidentRecord, SilenceRow } from './model.ts';
import { createHash } from 'node:crypto';
import type { HubEvent, StatusHub } from './hub.ts';
import { quantileMs } from './rollup.ts';
import type { BarView, DeliveryView, IncidentView, SilenceView, StatusView, TargetView, UptimeWindow } from './status-view.ts';
import type { TargetEntry } from './target-board.ts';

export const HISTORY_WINDOWS = ['24h', '7d', '90d'] as const;
export type HistoryWindow = (typeof HISTORY_WINDOWS)[number];
const OPEN_ON_PAGE = 500;
/** The latest closed incidents on the status page (each target's page and the API have the older ones): a light page. */
const CLOSED_ON_PAGE = 10;
const DEAD_ON_PAGE = 20;
const iso = (ms: number): string => new Date(ms).toISOString();

/** Who a view is for: the token's holder sees all; the public, no recipients, error text or alert ids. */
export type Audience = 'all' | 'public';

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
  readonly certExpiresAt?: string;
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
    if (e.certExpiresAt !== null) this.certExpiresAt = e.certExpiresAt;
  }

  get daily(): BarView[] {
    return this.#e.rollup.daily(this.#now);
  }

  get hourly(): BarView[] {
    return this.#e.rollup.hourly(this.#now);
  }
}

/**
 * A target as the status page lists it: its name and state at once (the header counts them, the
 * filter and the pager read the names), everything else made on first read (an EntryView), so a
 * page of 50 rows computes the uptimes, response times and silences of those 50, not of all 5,000.
 */
class ListedView implements TargetView {
  readonly name: string;
  readonly state: TargetView['state'];
  readonly #make: () => EntryView;
  #full: EntryView | undefined;

  constructor(e: TargetEntry, make: () => EntryView) {
    this.name = e.name;
    this.state = e.state;
    this.#make = make;
  }

  get #view(): EntryView {
    return (this.#full ??= this.#make());
  }
  get since(): string | null {
    return this.#view.since;
  }
  get agents(): TargetView['agents'] {
    return this.#view.agents;
  }
  get uptime(): Record<UptimeWindow, number | null> {
    return this.#view.uptime;
  }
  get responseMs(): TargetView['responseMs'] {
    return this.#view.responseMs;
  }
  get silenced(): boolean {
    return this.#view.silenced;
  }
  get lastFailure(): string | undefined {
    return this.#view.lastFailure;
  }
  get staleWhy(): string | undefined {
    return this.#view.staleWhy;
  }
  get daily(): BarView[] {
    return this.#view.daily;
  }
  get hourly(): BarView[] {
    return this.#view.hourly;
  }
}

const ORDER = { down: 0, stale: 1, unknown: 2, up: 3 } as const;
const byStateThenName = (a: { state: TargetView['state']; name: string }, b: { state: TargetView['state']; name: string }): number =>
  ORDER[a.state] - ORDER[b.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

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
    return this.#sorted().map((e) => this.#entryView(e, now));
  }

  /** The same list for the page: each target's figures made only when read (ListedView). */
  #listed(now: number): TargetView[] {
    return this.#sorted().map((e) => new ListedView(e, () => this.#entryView(e, now)));
  }

  #sorted(): TargetEntry[] {
    return [...this.#hub.targets.all()].sort(byStateThenName);
  }

  #entryView(e: TargetEntry, now: number): EntryView {
    return new EntryView(e, now, this.#hub.silences.matching(e.name, now) !== undefined);
  }

  target(name: string): TargetView | undefined {
    const e = this.#hub.targets.get(name);
    return e ? this.#entryView(e, this.#now()) : undefined;
  }

  /** GET /api/v1/status: targets (without their bars), agents, open incidents, silences. */
  async apiStatus(audience: Audience): Promise<Pick<StatusView, 'generatedAt' | 'targets' | 'agents' | 'incidents' | 'silences'>> {
    const now = this.#now();
    const incidents = await this.incidents({ state: 'open', limit: OPEN_ON_PAGE }, audience);
    return { generatedAt: iso(now), targets: this.targets(), agents: this.#agents(), incidents, silences: this.#hub.silences.list(now).map(silenceView) };
  }

  #agents(): StatusView['agents'] {
    return this.#hub.registry.list().map((a) => ({ name: a.name, version: a.version, lastReportAt: a.lastReportAt, targets: a.targets, state: a.state }));
  }

  /** The status page's view: its targets listed (ListedView), its incidents, agents, dead letters (not for the public) and silences. */
  async status(audience: Audience): Promise<StatusView> {
    const now = this.#now();
    const [incidents, dead] = await Promise.all([this.pageIncidents(audience), audience === 'all' ? this.#store.list({ state: 'dead', limit: DEAD_ON_PAGE }) : { alerts: [] }]);
    return {
      generatedAt: iso(now),
      targets: this.#listed(now),
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
  async pageIncidents(audience: Audience): Promise<IncidentView[]> {
    const [open, closed] = await Promise.all([this.incidents({ state: 'open', limit: OPEN_ON_PAGE }, audience), this.incidents({ state: 'closed', limit: CLOSED_ON_PAGE }, audience)]);
    return [...open, ...closed];
  }

  async incidents(query: IncidentQuery, audience: Audience): Promise<IncidentView[]> {
    const now = this.#now();
    return (await this.#store.incidents(query)).map((r) => incidentView(r, now, audience));
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

/** An incident's id as the public sees it: a digest (the id of a hand-made alert's incident holds the alert's id). */
function publicId(id: string): string {
  return `i-${createHash('sha256').update(id).digest('hex').slice(0, 24)}`;
}

/** A hub event as this audience may see it (the event stream sends it); undefined: none of it (an alert: its recipient, text and ids). */
export function hubEvent(event: HubEvent, audience: Audience): HubEvent | undefined {
  if (audience === 'all') return event;
  if (event.type === 'alert') return undefined;
  if (event.type !== 'incident') return event;
  return { type: 'incident', data: { ...event.data, id: publicId(event.data.id) } };
}

/** A silence as the page and the API show it. */
export function silenceView(s: SilenceRow): SilenceView {
  return { id: s.id, target: s.target, ...(s.match ? { match: s.match } : {}), startsAt: iso(s.startsAt), until: iso(s.until), comment: s.comment, createdAt: iso(s.createdAt) };
}

function deliveryView(d: DeliveryRow, audience: Audience): DeliveryView {
  const state = d.state === 'delivered' ? 'sent' : d.state === 'pending' ? (d.attempts > 0 ? 'retrying' : 'pending') : d.state;
  const view: DeliveryView = { channel: d.channel, state, attempts: d.attempts, at: iso(d.at) };
  if (audience === 'public') return view;
  view.alertId = d.alertId;
  if (d.error !== null) view.error = d.error;
  return view;
}

/** An incident event for the public: an alert or reminder says what it was, not its id or recipient. */
function eventText(e: IncidentEvent, audience: Audience): string {
  if (audience === 'all' || (e.kind !== 'alert' && e.kind !== 'reminder')) return e.text;
  if (e.more !== undefined) return `${e.more} more alert${e.more === 1 ? '' : 's'}`;
  return e.kind === 'reminder' ? 'a reminder' : 'an alert';
}

function incidentView(r: IncidentRecord, now: number, audience: Audience): IncidentView {
  const view: IncidentView = {
    id: audience === 'all' ? r.id : publicId(r.id),
    target: r.target,
    state: r.state,
    openedAt: iso(r.openedAt),
    lengthMs: Math.max(0, (r.resolvedAt ?? now) - r.openedAt),
    message: r.message,
    silenced: r.silenced,
    events: r.events.map((e) => ({ at: iso(e.at), kind: e.kind, text: eventText(e, audience) })),
    deliveries: r.deliveries.map((d) => deliveryView(d, audience)),
  };
  if (r.resolvedAt !== null) view.resolvedAt = iso(r.resolvedAt);
  if (r.reason !== null) view.reason = r.reason;
  return view;
}
