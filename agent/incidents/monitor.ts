/**
 * Runs every target: one TargetMonitor each (target-monitor.ts), the HTTP
 * targets over one shared connection pool (http-connections.ts), the TCP
 * targets with a plain connect (tcp-probe.ts), the DNS targets with one
 * query each (dns-probe.ts). First checks are spread over
 * the first interval (at most 2 s) so thousands of targets do not all fire
 * at once. When a
 * server closes a kept-alive connection, every target on that origin checks
 * again at once. Transitions become alerts for the notifier, which sends them
 * beside the checks.
 *
 * With a capped descriptor budget (checks/descriptors.ts: the open-file limit
 * is below what the targets could use) the checks share its slots
 * (check-slots.ts) and their sockets are kept within it (check-sockets.ts).
 */
import type { Alert } from '../../shared/alert.ts';
import { type AlertOrigin, alertsFor } from './incident-alerts.ts';
import type { MonitorEvents } from './monitor-events.ts';
import { CheckSlots } from '../checks/check-slots.ts';
import { CheckSockets } from '../checks/check-sockets.ts';
import type { DescriptorBudget } from '../checks/descriptors.ts';
import { HttpConnections } from '../checks/http-connections.ts';
import { createHttpProbe } from '../checks/http-probe.ts';
import type { IncidentTransition } from './incident.ts';
import type { Probe } from '../checks/probe.ts';
import type { TargetSpec } from '../target.ts';
import { TargetMonitor } from './target-monitor.ts';
import { createTcpProbe } from '../checks/tcp-probe.ts';
import { createDnsProbe } from '../checks/dns-probe.ts';

/** The longest time over which the first checks are spread. */
export const START_SPREAD_MS = 2000;

export interface MonitorDeps {
  targets: readonly TargetSpec[];
  /** Where alerts go (the notifier). */
  enqueue: (alert: Alert) => void;
  events: MonitorEvents;
  /** The agent (--agent-name) and this run of it, named in every alert. */
  origin: AlertOrigin;
  /** Replaces the probes (tests): by default HTTP and TCP probes as the URL says. */
  probeFor?: (spec: TargetSpec, connections: HttpConnections) => Probe;
  /** The descriptors for the checks; absent or not capped: no limit. */
  budget?: DescriptorBudget;
}

export class Monitor {
  readonly #monitors: TargetMonitor[] = [];
  readonly #byOrigin = new Map<string, TargetMonitor[]>();
  readonly #connections: HttpConnections;
  #started = false;

  constructor(deps: MonitorDeps) {
    const capped = deps.budget?.capped === true ? deps.budget.checksAtOnce : undefined;
    const slots = capped === undefined ? undefined : new CheckSlots(capped);
    const sockets = capped === undefined ? undefined : new CheckSockets(capped);
    this.#connections = new HttpConnections({ onServerClose: (origin) => this.#serverClosed(origin), ...(sockets ? { sockets } : {}) });
    const probeFor =
      deps.probeFor ??
      ((spec: TargetSpec, connections: HttpConnections) =>
        spec.kind === 'tcp' ? createTcpProbe(spec, sockets) : spec.kind === 'dns' ? createDnsProbe(spec) : createHttpProbe(spec, connections));
    const raise = (spec: TargetSpec, transition: IncidentTransition): void => {
      for (const alert of alertsFor(spec, transition, deps.origin)) deps.enqueue(alert);
    };
    for (const spec of deps.targets) {
      const monitor = new TargetMonitor({ spec, probe: probeFor(spec, this.#connections), events: deps.events, raise, ...(slots ? { slots } : {}) });
      this.#monitors.push(monitor);
      if (spec.kind === 'http') {
        const origin = this.#connections.register(spec);
        const group = this.#byOrigin.get(origin);
        if (group) group.push(monitor);
        else this.#byOrigin.set(origin, [monitor]);
      }
    }
  }

  get size(): number {
    return this.#monitors.length;
  }

  /**
   * Starts every target: the first at once, the others spread over their
   * interval (at most START_SPREAD_MS), so thousands of targets do not all
   * check in the same millisecond and each is checked soon after the start.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const n = this.#monitors.length;
    this.#monitors.forEach((monitor, i) => monitor.start(Math.floor((i / n) * Math.min(monitor.spec.intervalMs, START_SPREAD_MS))));
  }

  async stop(): Promise<void> {
    for (const monitor of this.#monitors) monitor.stop();
    await this.#connections.close();
  }

  #serverClosed(origin: string): void {
    const group = this.#byOrigin.get(origin);
    if (group) for (const monitor of group) monitor.wake();
  }
}
