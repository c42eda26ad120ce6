/**
 * What a user does to the ledger by hand, and what it forgets by itself:
 *   closeIncident  POST /api/v1/incidents/<id>/close: the hub admits a "closed by
 *                  hand" up on the incident (to the recipients its downs went to;
 *                  the notify stage sends it only to the channels told its down),
 *                  and the row is closed with the comment once committed.
 *   forgetAgent    DELETE /api/v1/agents/<name>: the agent's record, its views,
 *                  and the targets only it watched.
 *   forgetQuiet    --forget-after: targets no agent has reported for that long.
 * Each answer waits for its commit (store.hubCommit), as a silence's does.
 */
import type { StatusHub } from './hub.ts';
import { closedByHandRequests } from './hub-notices.ts';
import type { AlertSink, HubStorage } from './model.ts';

export const DEFAULT_FORGET_AFTER_MS = 7 * 86_400_000;
/** A comment is kept to this many characters. */
export const COMMENT_MAX = 200;

export class HubOperations {
  readonly #hub: StatusHub;
  readonly #store: HubStorage;
  readonly #admissions: () => AlertSink | undefined;

  constructor(hub: StatusHub, store: HubStorage, admissions: () => AlertSink | undefined) {
    this.#hub = hub;
    this.#store = store;
    this.#admissions = admissions;
  }

  /** False: no such open incident. Rejects when the store cannot be written. */
  async closeIncident(id: string, comment: string, now: number): Promise<boolean> {
    const hub = this.#hub;
    const row = hub.incidents.get(id);
    if (!row) return false;
    const text = comment.slice(0, COMMENT_MAX);
    hub.ledger.forget(row.target);
    const sink = this.#admissions();
    for (const request of closedByHandRequests(id, row.target, row.recipients, text, row.openedAt, now)) await sink?.admitJson(request, 'hub');
    // Admitted, the up closed it; if no recipient took it, close it here all the same.
    const closed = hub.closeByHand(id, text, now);
    if (closed) await this.#store.hubCommit({ op: 'incident', row: closed });
    return true;
  }

  /** False: no such agent. */
  async forgetAgent(name: string, now: number): Promise<boolean> {
    const hub = this.#hub;
    const record = hub.registry.get(name);
    if (!record) return false;
    const watched = [...record.targets.keys()];
    hub.dropAgent(name, `agent ${name} was forgotten`);
    hub.registry.forget(name);
    for (const target of watched) {
      const e = hub.targets.get(target);
      if (e && e.agents.size === 0 && ![...hub.registry.records()].some((r) => r.targets.has(target))) hub.forgetTarget(target);
    }
    await this.#store.hubCommit({ op: 'forget-agent', name });
    void now;
    return true;
  }

  /** Targets no agent has reported for `afterMs` (and with no open incident) are forgotten; returns their names. */
  forgetQuiet(afterMs: number, now: number): string[] {
    const hub = this.#hub;
    const quiet = [...hub.targets.all()].filter((e) => e.reportedAt !== null && now - e.reportedAt >= afterMs && hub.incidents.openOn(e.name) === undefined).map((e) => e.name);
    for (const name of quiet) hub.forgetTarget(name);
    return quiet;
  }
}
