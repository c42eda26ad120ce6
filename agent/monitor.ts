/**
 * Runs the checks of one target: one at a time, every `intervalMs`, and at
 * once when the server closes the kept-alive connection (nginx closes it as it
 * stops). Results go to the incident state machine; its transitions become
 * alerts for the notifier, which sends them beside the checks.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../shared/alert.ts';
import type { AgentConfig } from './cli.ts';
import { Incident, type Transition } from './incident.ts';
import type { Notifier } from './notifier.ts';
import type { CheckResult, Probe } from './probe.ts';
import type { View } from './view.ts';

export interface MonitorDeps {
  config: AgentConfig;
  probe: (onServerClose: () => void) => Probe;
  notifier: Notifier;
  view: View;
}

/** The smallest gap between two checks when woken early. */
const MIN_GAP_MS = 20;

export class Monitor {
  readonly #deps: MonitorDeps;
  readonly #incident = new Incident();
  readonly #probe: Probe;
  #stopped = false;
  #wake: (() => void) | undefined;
  #wakeRequested = false;
  #done: Promise<void> | undefined;

  constructor(deps: MonitorDeps) {
    this.#deps = deps;
    this.#probe = deps.probe(() => this.wake());
  }

  start(): Promise<void> {
    this.#done ??= this.#loop();
    return this.#done;
  }

  /** Check now rather than at the next tick. */
  wake(): void {
    this.#wakeRequested = true;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#probe.close().catch(() => {});
  }

  async #loop(): Promise<void> {
    const { config } = this.#deps;
    while (!this.#stopped) {
      const started = performance.now();
      this.#wakeRequested = false;
      const result = await this.#probe.check();
      if (this.#stopped) break;
      this.#record(result);
      const elapsed = performance.now() - started;
      const wait = this.#wakeRequested ? Math.max(0, MIN_GAP_MS - elapsed) : Math.max(0, config.intervalMs - elapsed);
      await this.#sleep(wait, started);
    }
  }

  #sleep(ms: number, checkStarted: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = () => {
        if (this.#stopped) return done();
        const since = performance.now() - checkStarted;
        clearTimeout(timer);
        setTimeout(done, Math.max(0, MIN_GAP_MS - since));
      };
    });
  }

  #record(result: CheckResult): void {
    const { view, config } = this.#deps;
    view.check(config.targetName, result);
    const transition = this.#incident.observe({ ok: result.ok, at: result.at, ...(result.reason ? { reason: result.reason } : {}) });
    if (transition) this.#alert(transition);
  }

  #alert(transition: Transition): void {
    const { config, notifier, view } = this.#deps;
    const base = { id: randomUUID(), to: config.to, target: config.targetName, time: new Date(transition.at).toISOString() };
    const alert: Alert =
      transition.kind === 'down'
        ? { ...base, status: 'down', message: config.message, reason: transition.reason }
        : { ...base, status: 'up', message: config.upMessage, downForMs: transition.downForMs };
    view.alertQueued(alert);
    notifier.enqueue(alert);
  }
}
