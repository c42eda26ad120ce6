/**
 * The hub: what agents report and what alerts say, kept and told. It takes
 * each report (after agent-silence.ts and the registry have seen it: the
 * agent, its targets' checks into their buckets, the targets' states), each
 * accepted alert (its incident, its target's state; a silence in force keeps
 * it from the channels), and each delivery's progress (the incident's
 * deliveries, which the store keeps). Every change goes to the store with its
 * next commit and to the page's listeners (GET /api/v1/events) at once.
 *
 * A sender's incident (an alert that named no target: the book's raw text)
 * closes after an hour without alerts, checked every SWEEP_EVERY_MS, and when
 * too many are open (incident-book.ts): bookkeeping, with no alert to any channel.
 *
 * An incident its agent can no longer close (the down was sent, then the
 * agent restarted and its new instance reports the target up) is closed here
 * with a recovery alert of the hub's own, through every channel.
 */
import type { Logger } from '../../shared/logger.ts';
import type { AgentReport } from '../../shared/wire-report.ts';
import type { QueuedAlert } from '../queued-alert.ts';
import type { AlertSink, HubSnapshot, HubStorage } from './model.ts';
import type { AgentSilence } from './agent-silence.ts';
import { type AgentRecord, type AgentRegistry, type AgentView, agentView } from './agents.ts';
import { type FiguresEvent, figuresEvent } from './live-figures.ts';
import { IncidentBook, type IncidentChange, MAX_SENDER_INCIDENTS } from './incident-book.ts';
import type { ReportReceiver } from './report-body.ts';
import { Silences } from './silences.ts';
import { TargetBoard, type TargetEntry } from './target-board.ts';

/** How often the senders' quiet incidents are looked for. */
const SWEEP_EVERY_MS = 60_000;

export type HubEvent =
  | { type: 'target'; data: { name: string; state: string; since: string | null; agents: Array<{ name: string; state: string }> } }
  | { type: 'incident'; data: { id: string; target: string; state: string } }
  | { type: 'agent'; data: AgentView }
  | { type: 'figures'; data: FiguresEvent };

export interface StatusHubOptions {
  store: HubStorage;
  snapshot: HubSnapshot;
  registry: AgentRegistry;
  silence: AgentSilence;
  log: Logger;
  now?: () => number;
}

/** Also the intake's AdmissionObserver (beforeKeep, admitted): it hears of every accepted alert. */
export class StatusHub implements ReportReceiver {
  readonly targets: TargetBoard;
  readonly incidents: IncidentBook;
  readonly silences: Silences;
  readonly registry: AgentRegistry;
  readonly #o: StatusHubOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<(e: HubEvent) => void>();
  #admissions: AlertSink | undefined;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: StatusHubOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const write = options.store.hubWrite.bind(options.store);
    const { snapshot } = options;
    this.registry = options.registry;
    this.registry.restore(snapshot.agents);
    this.targets = new TargetBoard(write, snapshot.targets, snapshot.buckets, snapshot.agents);
    this.incidents = new IncidentBook(write, snapshot.open);
    this.silences = new Silences(options.store.hubCommit.bind(options.store), snapshot.silences);
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS).unref();
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  /** Where the hub's own recovery alerts are admitted. */
  bind(admissions: AlertSink): void {
    this.#admissions = admissions;
  }

  subscribe(listener: (e: HubEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  report(report: AgentReport): string | undefined {
    const before = this.registry.get(report.agent.name);
    const dropped = before ? [...before.targets.keys()] : [];
    const refused = this.#o.silence.report(report);
    if (refused !== undefined) return refused;
    const now = this.#now();
    const record = this.registry.get(report.agent.name)!;
    const named = new Set(report.targets.map((t) => t.name));
    const changed = this.targets.report(record.name, report.targets, dropped.filter((n) => !named.has(n)), now);
    const adds = report.targets.filter((t) => t.checks > 0).map((t) => ({ target: t.name, checks: t.checks, failures: t.failures, latency: t.latency, incidents: 0 }));
    if (adds.length > 0) this.#o.store.hubWrite({ op: 'buckets', at: now, adds });
    this.agentChanged(record);
    for (const e of changed) this.#targetEvent(e);
    if (this.#listeners.size > 0 && adds.length > 0) this.#emit({ type: 'figures', data: figuresEvent(this.#entries(adds.map((a) => a.target)), now) });
    for (const t of report.targets) {
      if (t.state !== 'up') continue;
      const stale = this.incidents.staleFor(t.name, record.instanceSince);
      if (stale) this.#recover(stale.id, t.name, stale.recipients, stale.openedAt, record.name, now);
    }
    return undefined;
  }

  agents(): AgentView[] {
    return this.registry.list();
  }

  /** An agent's record changed (a report, or found silent): kept, and told. */
  agentChanged(record: AgentRecord): void {
    this.#o.store.hubWrite({ op: 'agent', row: this.registry.row(record) });
    this.#emit({ type: 'agent', data: agentView(record) });
  }

  beforeKeep(item: QueuedAlert, peer: string): boolean {
    const now = this.#now();
    return this.silences.matching(this.incidents.assign(item, peer, now), now) !== undefined;
  }

  admitted(item: QueuedAlert, peer: string, silenced: boolean): void {
    const now = this.#now();
    const { alert } = item;
    const changes = this.incidents.alert(item, peer, silenced, now);
    for (const c of changes) this.#incidentChanged(c, now);
    if (alert.target !== undefined && !alert.target.startsWith('agent:')) {
      const at = alert.time !== undefined ? Math.min(Date.parse(alert.time), now) : now;
      const e = this.targets.alert(alert.target, alert.status, at, alert.status === 'down' ? alert.reason : undefined);
      if (e) this.#targetEvent(e);
    }
  }

  /** A channel's progress on an alert (the store has recorded it): its incident's page section is told. */
  delivered(incident: string): void {
    const row = this.incidents.get(incident);
    this.#emit({ type: 'incident', data: { id: incident, target: row?.target ?? '', state: row ? 'open' : 'closed' } });
  }

  /** The senders' incidents the book closes (quiet, or too many open): told to the page, sent to no channel. */
  #sweep(): void {
    const now = this.#now();
    for (const c of this.incidents.sweep(now)) this.#incidentChanged(c, now);
  }

  #incidentChanged(c: IncidentChange, now: number): void {
    if (c.closedBy !== undefined) {
      const { id, target } = c.row;
      const fields = { event: `incident-${c.closedBy}`, incident: id, target };
      if (c.closedBy === 'cap') this.#o.log.info(`incident ${id} of ${target} closed: ${MAX_SENDER_INCIDENTS} incidents of senders open, the one quiet longest closes (no up is sent)`, fields);
      else this.#o.log.debug(`incident ${id} of ${target} closed: no alert from its sender for an hour (no up is sent)`, fields);
    }
    if (c.kind === 'opened') {
      this.targets.incidentOpened(c.row.target, c.row.openedAt);
      if (this.#listeners.size > 0) this.#emit({ type: 'figures', data: figuresEvent(this.#entries([c.row.target]), now) });
      this.#o.store.hubWrite({ op: 'buckets', at: Math.min(c.row.openedAt, now), adds: [{ target: c.row.target, checks: 0, failures: 0, latency: [], incidents: 1 }] });
    }
    this.#emit({ type: 'incident', data: { id: c.row.id, target: c.row.target, state: c.row.state } });
  }

  #recover(incident: string, target: string, recipients: readonly string[], openedAt: number, agent: string, now: number): void {
    const admissions = this.#admissions;
    if (!admissions) return;
    this.#o.log.info(`incident ${incident} on ${target} left open by a restarted agent: ${agent} reports it up; sending its recovery`, { event: 'hub-recovery', incident, target });
    for (const to of recipients.length > 0 ? recipients : [undefined]) {
      admissions
        .admitJson(
          {
            id: `${incident}-hub-up${recipients.length > 1 ? `-${recipients.indexOf(to!)}` : ''}`.slice(0, 128),
            ...(to !== undefined ? { to } : {}),
            message: `${target} is up again (agent ${agent} reports it up; the agent that saw it go down restarted).`,
            status: 'up',
            target,
            incident,
            time: new Date(now).toISOString(),
            downForMs: Math.max(0, now - openedAt),
          },
          'hub',
        )
        .catch((err: unknown) => this.#o.log.error(`Cannot keep the hub's recovery alert for ${target}: ${(err as Error).message}`, { event: 'store-error' }));
    }
  }

  *#entries(names: Iterable<string>): Iterable<TargetEntry> {
    for (const name of names) {
      const e = this.targets.get(name);
      if (e) yield e;
    }
  }

  #targetEvent(e: TargetEntry): void {
    this.#emit({
      type: 'target',
      data: { name: e.name, state: e.state, since: e.since === null ? null : new Date(e.since).toISOString(), agents: [...e.agents].map(([name, state]) => ({ name, state })) },
    });
  }

  #emit(event: HubEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#o.log.error(`status page listener: ${(err as Error).message}`);
      }
    }
  }
}
