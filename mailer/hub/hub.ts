/**
 * The hub: what agents report and what alerts say, kept and told. It takes
 * each report (after agent-silence.ts and the registry have seen it: the
 * agent, its targets' checks into their buckets, the targets' states), each
 * accepted alert (its incident, its target's state), and each delivery's progress (the incident's
 * deliveries, which the store keeps). Every change goes to the store with its
 * next commit and to the page's listeners (GET /api/v1/events) at once; on a
 * shared store, another mailer's changes come in too (synced: hub-sync.ts).
 * A sender's incident (an alert that named no target: the book's raw text)
 * closes after an hour without alerts, checked every SWEEP_EVERY_MS, and when
 * too many are open (incident-book.ts): bookkeeping, with no alert to any channel.
 * It is the dispatcher's NotifyPolicy (delivery/notify-policy.ts): the
 * silence muting an alert on a channel at send time, whether an incident is
 * still open, and a signal when a silence is added or removed or an incident closes.
 * Which agent alerts reach the channels is the ledger's (ledger.ts, the rules
 * in quorum.ts): beforeKeep holds back a join, a down short of --quorum, an
 * up while others see the target down; the downs and ups the ledger decides
 * on itself (a quorum reached, an incident a restarted agent or another
 * witness ends) are admitted here as the hub's own alerts. An agent that
 * stops or goes silent drops out of every target's views (stale when none is left).
 */
import type { Alert } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AgentReport } from '../../shared/wire-report.ts';
import type { Mute, NotifyPolicy } from '../notify-policy.ts';
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import type { AlertSink, HubChanges, HubSnapshot, HubStorage } from './model.ts';
import { applyHubChanges, targetEventData } from './hub-sync.ts';
import type { AgentSilence } from './agent-silence.ts';
import { type AgentRecord, type AgentRegistry, type AgentView, agentView } from './agents.ts';
import { type FiguresEvent, figuresEvent } from './live-figures.ts';
import { IncidentBook, type IncidentChange, incidentOf, MAX_SENDER_INCIDENTS } from './incident-book.ts';
import { noticeRequests } from './hub-notices.ts';
import { type HubNotice, IncidentLedger } from './ledger.ts';
import type { Verdict } from './quorum.ts';
import type { ReportReceiver } from './report-body.ts';
import { Silences } from './silences.ts';
import { MAX_TARGETS, TargetBoard, type TargetEntry } from './target-board.ts';
import { ThrottledLog } from '../../shared/throttled-log.ts';

/** How often the senders' quiet incidents are looked for. */
const SWEEP_EVERY_MS = 60_000;

export type HubEvent =
  | { type: 'target'; data: { name: string; state: string; since: string | null; agents: Array<{ name: string; state: string }> } }
  | { type: 'incident'; data: { id: string; target: string; state: string } }
  | { type: 'agent'; data: AgentView }
  | { type: 'figures'; data: FiguresEvent }
  /** Each alert the mailer accepted (not a duplicate), as it arrived: for tests that wait on one (ch2/testcontainers waitForAlert). Its incident is the hub's; held: the ledger kept it from the channels. Not for the public. */
  | { type: 'alert'; data: Alert & { incident: string; receivedAt: string; held: boolean } };

export interface StatusHubOptions {
  store: HubStorage;
  snapshot: HubSnapshot;
  registry: AgentRegistry;
  silence: AgentSilence;
  log: Logger;
  now?: () => number;
  /** --quorum: live agents that must see a target down (default 1). */
  quorum?: number;
  /** Several mailers share the store (Postgres): another mailer's incident's up is not held (ledger.ts). */
  sharedStore?: boolean;
}

/** Also the intake's AdmissionObserver (beforeKeep, admitted): it hears of every accepted alert. */
export class StatusHub implements ReportReceiver, NotifyPolicy {
  readonly targets: TargetBoard;
  readonly incidents: IncidentBook;
  readonly silences: Silences;
  readonly registry: AgentRegistry;
  readonly ledger: IncidentLedger;
  readonly #o: StatusHubOptions;
  /** The ledger's verdict on each alert between beforeKeep and admitted. */
  readonly #verdicts = new WeakMap<QueuedAlert, Verdict>();
  readonly #now: () => number;
  readonly #listeners = new Set<(e: HubEvent) => void>();
  /** Told when a silence is added or removed, or an incident closes (the dispatcher's mute stage). */
  readonly #policyListeners: Array<() => void> = [];
  #admissions: AlertSink | undefined;
  readonly #sweeper: NodeJS.Timeout;
  /** One line per agent whose report was cut to the cap, each 10 s, at most 10 in all. */
  readonly #capped: ThrottledLog;

  constructor(options: StatusHubOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#capped = new ThrottledLog(options.log, { total: 10 });
    const write = options.store.hubWrite.bind(options.store);
    const { snapshot } = options;
    this.registry = options.registry;
    this.registry.restore(snapshot.agents);
    // The agents as restored (their targets within the cap), not as the store had them.
    const agents = [...this.registry.records()].map((r) => ({ name: r.name, targets: [...r.targets.values()] }));
    const rules = { quorum: options.quorum ?? 1, openOn: (t: string) => this.ledger.openOn(t) !== undefined };
    this.targets = new TargetBoard(write, snapshot.targets, snapshot.buckets, agents, rules);
    this.incidents = new IncidentBook(write, snapshot.open);
    this.ledger = new IncidentLedger(this.targets, this.incidents, rules.quorum, options.sharedStore === true);
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

  report(sent: AgentReport): string | undefined {
    // Only the targets the board takes and the agents' sum leaves room for are kept, in the record and the store.
    const targets = this.targets.admit(sent.targets, this.registry.roomFor(sent.agent.name));
    const report = targets.length === sent.targets.length ? sent : { ...sent, targets };
    if (report !== sent) {
      const line = `agent ${sent.agent.name}: ${sent.targets.length - targets.length} of the ${sent.targets.length} targets it reports are not kept (the hub keeps at most ${MAX_TARGETS} targets over all agents)`;
      this.#capped.warn(line, { event: 'targets-capped', agent: sent.agent.name }, sent.agent.name);
    }
    const before = this.registry.get(report.agent.name);
    const dropped = before ? [...before.targets.keys()] : [];
    const restartsBefore = before?.restarts;
    const refused = this.#o.silence.report(report);
    if (refused !== undefined) return refused;
    const now = this.#now();
    const record = this.registry.get(report.agent.name)!;
    const named = new Set(report.targets.map((t) => t.name));
    const sentAt = Math.min(Date.parse(report.sentAt) || now, now);
    const changed = this.targets.report(record.name, report.targets, dropped.filter((n) => !named.has(n)), now, // A new instance's first report does not outrank its predecessor's alerts: it may be a second agent under the name (agents.ts).
      { instance: report.agent.instance, at: sentAt, shared: record.shared === true || (restartsBefore !== undefined && record.restarts !== restartsBefore) });
    const adds = report.targets.filter((t) => t.checks > 0).map((t) => ({ target: t.name, checks: t.checks, failures: t.failures, latency: t.latency, incidents: 0 }));
    if (adds.length > 0) this.#o.store.hubWrite({ op: 'buckets', at: now, adds });
    this.agentChanged(record);
    for (const e of changed) this.#targetEvent(e);
    if (this.#listeners.size > 0 && adds.length > 0) this.#emit({ type: 'figures', data: figuresEvent(this.#entries(adds.map((a) => a.target)), now) });
    this.#notify(this.ledger.settle([...named, ...dropped]), now);
    if (report.goodbye) this.dropAgent(record.name, `agent ${record.name} stopped`);
    return undefined;
  }

  /** An agent stopped or went silent: out of every target's views; incidents its drop-out ends are told. */
  dropAgent(name: string, why: string): void {
    const now = this.#now();
    const changed = this.targets.drop(name, why, now);
    for (const e of changed) this.#targetEvent(e);
    this.#notify(this.ledger.settle(changed.map((e) => e.name)), now);
    for (const e of changed) if (this.targets.settle(e, now, why)) this.#targetEvent(e);
  }

  /** Closed by hand: its row (undefined when it was not open, e.g. its up closed it already). */
  closeByHand(id: string, comment: string, now: number) {
    const row = this.incidents.closeByHand(id, comment, now);
    if (row) {
      this.#emit({ type: 'incident', data: { id: row.id, target: row.target, state: row.state } });
      const e = this.targets.get(row.target);
      if (e && this.targets.settle(e, now)) this.#targetEvent(e);
    }
    return row;
  }

  /** A target forgotten (by hand with its last agent, or after --forget-after). */
  forgetTarget(name: string): void {
    this.ledger.forget(name);
    this.targets.forget(name);
  }

  /** Where the hub's own alerts go (bound at start). */
  get admissions(): AlertSink | undefined {
    return this.#admissions;
  }

  agents(): AgentView[] {
    return this.registry.list();
  }

  /** An agent's record changed (a report, or found silent): kept, and told. */
  agentChanged(record: AgentRecord): void {
    this.#o.store.hubWrite({ op: 'agent', row: this.registry.row(record, this.#o.sharedStore === true ? (t) => this.targets.get(t)?.agents.get(record.name)?.at : undefined) });
    this.#emit({ type: 'agent', data: agentView(record) });
  }

  /** True: the hub holds the alert back from the channels (the ledger's verdict); kept, owed by no channel. Silences mute at send time. */
  beforeKeep(item: QueuedAlert, peer: string): boolean {
    const now = this.#now();
    const target = this.incidents.assign(item, peer, now);
    const decided = peer === 'hub' ? undefined : this.ledger.alert(item, now);
    if (decided) {
      this.#verdicts.set(item, decided.verdict);
      if (!decided.verdict.send) this.#o.log.info(`Alert ${item.alert.id} from agent ${item.alert.agent} on ${target} held back from the channels: ${decided.verdict.why}.`, { event: 'ledger-held', id: item.alert.id, target });
      queueMicrotask(() => this.#notify(decided.notices, now));
      if (!decided.verdict.send) return true;
    }
    return false;
  }

  admitted(item: QueuedAlert, peer: string, held: boolean): void {
    const now = this.#now();
    const { alert } = item;
    if (this.#listeners.size > 0) this.#emit({ type: 'alert', data: { ...alert, incident: incidentKey(item), receivedAt: new Date(item.receivedAt).toISOString(), held } });
    const verdict = this.#verdicts.get(item);
    // Shown on the incident: a silence in force on the alert whatever its channel (the dispatcher mutes each delivery).
    const silenced = this.silences.muting({ alert, target: incidentOf(item, peer).target, channel: undefined }, now) !== undefined;
    if (verdict && !verdict.send) {
      const c = this.incidents.note(alert.target!, `held: ${alert.status} ${alert.reminder !== undefined ? `reminder ${alert.reminder} ` : ''}from agent ${alert.agent} (${verdict.why})`, now);
      if (c) this.#incidentChanged(c, now);
    } else {
      const changes = this.incidents.alert(item, peer, silenced, now);
      for (const c of changes) this.#incidentChanged(c, now);
      const open = alert.target !== undefined ? this.ledger.openOn(alert.target) : undefined;
      const row = open && this.incidents.get(open.id);
      if (row && alert.status === 'down' && alert.reminder === undefined && row.witnesses === undefined) this.incidents.setLedger(row, open);
    }
    if (alert.agent !== undefined && alert.target !== undefined) {
      // A shared store: the agent's word by alert goes to the other mailers with its row at once, not with its next report.
      const said = this.#o.sharedStore === true ? this.registry.said(alert.agent, alert.instance, alert.target, alert.status) : undefined;
      if (said) this.agentChanged(said);
      const e = this.targets.get(alert.target);
      if (e) {
        if (alert.reason !== undefined) e.lastFailure = alert.reason;
        if (this.targets.settle(e, now)) this.#targetEvent(e);
      }
    } else if (alert.target !== undefined && !alert.target.startsWith('agent:')) {
      const at = alert.time !== undefined ? Math.min(Date.parse(alert.time), now) : now;
      const e = this.targets.alert(alert.target, alert.status, at, alert.status === 'down' ? alert.reason : undefined);
      if (e) this.#targetEvent(e);
    }
  }

  muted(item: QueuedAlert, channel: string, now: number): Mute | undefined {
    const target = item.alert.target ?? this.incidents.get(incidentKey(item))?.target;
    const row = this.silences.muting({ alert: item.alert, target, channel }, now);
    return row && { id: row.id, until: row.until };
  }

  incidentOpen(id: string): boolean {
    return this.incidents.get(id) !== undefined;
  }

  onChange(listener: () => void): void {
    this.#policyListeners.push(listener);
    this.silences.onChange(listener);
  }

  /** A channel's progress on an alert (the store has recorded it): its incident's page section is told. */
  delivered(incident: string): void {
    const row = this.incidents.get(incident);
    this.#emit({ type: 'incident', data: { id: incident, target: row?.target ?? '', state: row ? 'open' : 'closed' } });
  }

  /** Another mailer's hub rows (a shared store: hub-sync.ts): applied, not written back, and told to the page. */
  synced(changes: HubChanges): void {
    const figures = (names: string[]) => this.#listeners.size > 0 && this.#emit({ type: 'figures', data: figuresEvent(this.#entries(names), this.#now()) });
    const viewed = applyHubChanges(this, changes, { agent: (r) => this.#emit({ type: 'agent', data: agentView(r) }), target: (e) => this.#targetEvent(e), figures, incident: (c) => {
      this.#emit({ type: 'incident', data: { id: c.row.id, target: c.row.target, state: c.row.state } });
      if (c.kind === 'closed') for (const listener of this.#policyListeners) listener();
    } });
    this.#notify(this.ledger.reconsider(viewed), this.#now());
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
    if (c.kind === 'closed') for (const listener of this.#policyListeners) listener();
  }

  /** The ledger's own downs and ups, admitted as the hub's alerts. */
  #notify(notices: readonly HubNotice[], now: number): void {
    const admissions = this.#admissions;
    if (!admissions) return;
    for (const n of notices) {
      const { incident, target } = n;
      this.#o.log.info(`incident ${incident} on ${target}: ${n.status === 'down' ? `${n.agents.join(', ')} see it down (quorum ${this.ledger.quorum}); sending its down` : `${n.agents.join(', ')} see it up and no other agent down; sending its up`}`, { event: n.status === 'down' ? 'hub-down' : 'hub-recovery', incident, target });
      for (const request of noticeRequests(n, this.ledger.quorum, now)) {
        admissions.admitJson(request, 'hub').catch((err: unknown) => this.#o.log.error(`Cannot keep the hub's ${n.status} alert for ${target}: ${(err as Error).message}`, { event: 'store-error' }));
      }
    }
  }

  *#entries(names: Iterable<string>): Iterable<TargetEntry> {
    for (const name of names) {
      const e = this.targets.get(name);
      if (e) yield e;
    }
  }

  #targetEvent(e: TargetEntry): void {
    this.#emit({ type: 'target', data: targetEventData(e) });
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
