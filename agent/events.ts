/**
 * What happens inside the agent, as calls on listeners: the seam between the
 * monitors and notifier (which make things happen) and whatever shows or
 * counts them (the view, the metrics). Every method is optional; `fanOut`
 * joins several listeners into one. All calls are synchronous and made on the
 * hot path (one `check` per check: 5,000 a second at 5,000 targets), so a
 * listener must be cheap and must not throw.
 *
 * The order for one target: `check` after every check (or `skipped`, for a
 * check with no verdict, which nothing else follows); `transition` when the
 * incident state machine changes state or sends a reminder (right after the
 * `check` that caused it); then one `alertQueued` per recipient. Later, for
 * each alert: `alertDelivered`, `alertFailed` (the mailer refused it for good)
 * or `alertDropped` (the queue was full while the mailer was away).
 */
import type { Alert } from '../shared/alert.ts';
import type { MonitorEvents } from './incidents/monitor-events.ts';

/** A watched target, as listeners see it. */
export interface TargetInfo {
  /** The name alerts and log lines use (unique). */
  name: string;
  /** The URL checked: http(s)://… or tcp://host:port. */
  url: string;
  intervalMs: number;
}

/** The monitors' events (check, skipped, transition), then the notifier's. */
export interface AgentEvents extends MonitorEvents {
  /** Once, before the first check. */
  started?(targets: readonly TargetInfo[], mailer: string, protocol: string): void;
  /** An alert entered the queue for the mailer. */
  alertQueued?(alert: Alert): void;
  /** The mailer took the alert. */
  alertDelivered?(alert: Alert): void;
  /** The mailer refused the alert for good (4xx); it is not retried. */
  alertFailed?(alert: Alert, error: string): void;
  /** The alert was dropped to keep the queue bounded (only reminders are). */
  alertDropped?(alert: Alert): void;
  /** The agent is stopping: flush, restore the terminal. */
  stopped?(): void;
}

type EventName = keyof AgentEvents;
const EVENT_NAMES: readonly EventName[] = [
  'started',
  'check',
  'skipped',
  'transition',
  'alertQueued',
  'alertDelivered',
  'alertFailed',
  'alertDropped',
  'stopped',
];

/**
 * One listener that calls each of `listeners` in turn; a method none has
 * costs nothing. A listener that throws does not stop the others (nor the
 * monitor or the notifier that called): its error goes to `onError`, with the
 * event's name.
 */
export function fanOut(listeners: readonly AgentEvents[], onError: (event: string, err: unknown) => void): Required<AgentEvents> {
  const out: Record<string, (...args: never[]) => void> = {};
  for (const name of EVENT_NAMES) {
    const fns = listeners.map((l) => l[name]?.bind(l)).filter((f) => f !== undefined) as Array<(...args: unknown[]) => void>;
    if (fns.length === 0) out[name] = () => {};
    else
      out[name] = (...args: unknown[]) => {
        for (const fn of fns) {
          try {
            fn(...args);
          } catch (err) {
            onError(name, err);
          }
        }
      };
  }
  return out as unknown as Required<AgentEvents>;
}
