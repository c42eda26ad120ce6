/**
 * Turns what arrived (a raw message or a JSON alert) into an accepted alert:
 * checks the recipient against the allowlist, keeps the alert in the store
 * (committed to disk; a known id is a duplicate, answered as its original
 * is) and hands it to the dispatcher. Both protocols come through here, so
 * they behave the same. admitJson rejects when the store cannot be written,
 * so HTTP can answer 503. Refusal lines are throttled per peer address
 * (shared/throttled-log.ts REFUSAL_LIMITS), so a flood of bad requests
 * cannot flood the log.
 */
import { randomUUID } from 'node:crypto';
import { type Alert, bookLine, DEFAULT_DOWN_MESSAGE } from '../../shared/alert.ts';
import type { Logger } from '../../shared/logger.ts';
import { peerHost } from '../../shared/peer-address.ts';
import { REFUSAL_LIMITS, ThrottledLog } from '../../shared/throttled-log.ts';
import type { AlertRequest } from '../../shared/wire-json.ts';
import { preview } from '../../shared/text.ts';
import type { RawMessage } from '../../shared/wire-raw.ts';
import type { Allowlist } from './allowlist.ts';
import type { Dispatcher } from '../delivery/dispatcher.ts';
import type { Store } from '../store/store.ts';
import type { Intake, QueuedAlert } from '../queued-alert.ts';

export type Admission =
  | { ok: true; id: string; duplicate: boolean }
  | { ok: false; code: 'recipient' | 'invalid'; error: string };

/**
 * Who else hears of each accepted alert (the hub: incidents, the page).
 * Silences are not asked here: the dispatcher mutes each delivery at send time.
 */
export interface AdmissionObserver {
  /** Before the alert is kept: gives it its incident (item.hubIncident); true when the hub holds it back from the channels (kept, owed by none). */
  beforeKeep(item: QueuedAlert, peer: string): boolean;
  /** Accepted and kept (not a duplicate); held: beforeKeep held it back. */
  admitted(item: QueuedAlert, peer: string, held: boolean): void;
}

export interface AdmissionDeps {
  allowlist: Allowlist;
  store: Store;
  dispatcher: Dispatcher;
  log: Logger;
  now?: () => number;
}

export class Admissions {
  readonly #deps: AdmissionDeps;
  #observer: AdmissionObserver | undefined;
  readonly #refusals: ThrottledLog;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.#refusals = new ThrottledLog(deps.log, REFUSAL_LIMITS);
  }

  observe(observer: AdmissionObserver): void {
    this.#observer = observer;
  }

  admitJson(req: AlertRequest, peer: string): Promise<Admission> {
    const to = req.to ?? this.#deps.allowlist.defaultRecipient;
    if (!to) return Promise.resolve(this.#refuse('recipient', 'no "to" given and no default recipient', 'json', peer));
    const alert: Alert = {
      id: req.id ?? randomUUID(),
      to,
      message: req.message.trim() || DEFAULT_DOWN_MESSAGE,
      status: req.status ?? 'down',
    };
    if (req.target !== undefined) alert.target = req.target;
    if (req.reason !== undefined) alert.reason = req.reason;
    if (req.time !== undefined) alert.time = req.time;
    if (req.downForMs !== undefined) alert.downForMs = req.downForMs;
    if (req.reminder !== undefined) alert.reminder = req.reminder;
    if (req.incident !== undefined) alert.incident = req.incident;
    if (req.agent !== undefined) alert.agent = req.agent;
    if (req.instance !== undefined) alert.instance = req.instance;
    return this.#admit(alert, bookLine(alert), 'json', peer);
  }

  admitRaw(raw: RawMessage, peer: string): Promise<Admission> {
    const alert: Alert = { id: randomUUID(), to: raw.to, message: raw.message, status: 'down' };
    return this.#admit(alert, raw.text, 'raw', peer);
  }

  /** A message that could not be read at all (bad bytes, too large). */
  reject(via: Intake, peer: string, error: string): Admission {
    return this.#refuse('invalid', error, via, peer);
  }

  async #admit(alert: Alert, line: string, via: Intake, peer: string): Promise<Admission> {
    const { allowlist, store, dispatcher, log } = this.#deps;
    const allowed = allowlist.check(alert.to);
    if (!allowed.ok) return this.#refuse('recipient', `recipient ${preview(alert.to, 120)} ${allowed.error}`, via, peer);
    const item: QueuedAlert = { alert, line, via, receivedAt: this.#deps.now?.() ?? Date.now() };
    const observer = this.#observer;
    const held = observer?.beforeKeep(item, peer) ?? false;
    let duplicate = false;
    try {
      // Resolves once committed; a duplicate of an alert still being committed waits for that commit.
      duplicate = (await store.admit(item, held ? [] : dispatcher.channelsFor(alert))).duplicate;
    } catch (err) {
      // An HTTP sender is told 503 and keeps the alert; a raw sender has gone, so deliver from memory.
      if (via === 'json') throw err;
      log.error(`Cannot keep raw alert ${alert.id} in the store (${(err as Error).message}); delivering it from memory only.`, {
        event: 'store-error',
        id: alert.id,
      });
    }
    if (duplicate) {
      log.info(`Alert ${alert.id} already accepted; not sending it again.`, { event: 'duplicate', id: alert.id, via, peer });
      return { ok: true, id: alert.id, duplicate: true };
    }
    // The hub first: the dispatcher's mute stage asks it of the alert's incident (a raw alert's sender) at once.
    observer?.admitted(item, peer, held);
    if (held) log.info(`Alert ${alert.id} is held back by the hub; kept, not sent.`, { event: 'held', id: alert.id });
    else dispatcher.submit(item);
    return { ok: true, id: alert.id, duplicate: false };
  }

  #refuse(code: 'recipient' | 'invalid', error: string, via: Intake, peer: string): Admission {
    this.#refusals.warn(`Refused ${via} alert from ${peer}: ${error}`, { event: 'refused', via, peer }, peerHost(peer));
    return { ok: false, code, error };
  }
}
