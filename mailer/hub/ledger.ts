/**
 * The incident ledger: per target the hub's open incident (its opener and
 * witnesses, kept on the incident's row in the store) and every live agent's
 * view (the target board's), with the rules of quorum.ts applied to them.
 * The hub asks it about each agent's alert before it is kept (hold: true
 * keeps it from the channels), and after a report or an agent's drop-out
 * whether an incident ends; the hub sends the downs and ups it decides on.
 *
 * An alert naming no agent (the book's raw text, JSON by hand) and the hub's
 * own alerts are not the ledger's: they go as they always did. No I/O of its
 * own; time comes as arguments.
 *
 * Several mailers on one store (`shared`): an agent's up naming an incident
 * this mailer has not open, while none is open on its target here, may end
 * one another mailer opened (the agent failed over): it is not held for
 * that, and the dispatcher's told stage sends it only where the store says
 * its down went (none: skipped, as here). The other mailers' agents' views
 * come in with their rows (hub-sync.ts): a quorum they complete is looked
 * for again then (reconsider), and the hub's down id is the agreeing views'
 * time, so mailers deciding it at once send one alert.
 */
import { createHash } from 'node:crypto';
import type { QueuedAlert } from '../queued-alert.ts';
import type { IncidentBook } from './incident-book.ts';
import { decideAlert, decideSettle, downs, type LedgerIncident, type LedgerState, openByHub, type Verdict, type Views } from './quorum.ts';
import type { TargetBoard } from './target-board.ts';

/** --quorum takes 1 to this many agents. */
export const MAX_QUORUM = 100;

/** What the hub sends of the ledger's own: a down opening its incident, or an up ending one. */
export interface HubNotice {
  status: 'down' | 'up';
  target: string;
  incident: string;
  /** The agents that agree (down) or see it up (up). */
  agents: string[];
  /** The up ends an incident whose opener restarted (its new instance saw it up). */
  restarted?: boolean;
  /** Who its down alerts went to; for a down, the recipients of the alerts held before it. */
  recipients: string[];
  reason?: string;
  openedAt?: number;
}

export class IncidentLedger {
  readonly quorum: number;
  readonly #shared: boolean;
  readonly #board: TargetBoard;
  readonly #book: IncidentBook;
  /** Per target: the incident open (as the rules see it, ahead of its row) and the one an agent's up just ended. */
  readonly #state = new Map<string, { open: LedgerIncident | undefined; endedByUp?: string; heldTo: Set<string> }>();

  constructor(board: TargetBoard, book: IncidentBook, quorum: number, shared = false) {
    this.#shared = shared;
    this.#board = board;
    this.#book = book;
    this.quorum = quorum;
  }

  /** The incident the ledger holds open on a target. */
  openOn(target: string): LedgerIncident | undefined {
    return this.#of(target).open;
  }

  /** Before an agent's alert is kept: its view taken, and whether the hub holds it back; notices the hub sends now. */
  alert(item: QueuedAlert, now: number): { verdict: Verdict; notices: HubNotice[] } | undefined {
    const { alert } = item;
    if (alert.agent === undefined || alert.instance === undefined || alert.target === undefined) return undefined;
    const e = this.#board.entry(alert.target);
    if (!e) return undefined;
    e.reportedAt = now;
    const s = this.#of(alert.target);
    const state: LedgerState = { views: e.agents, open: s.open, ...(s.endedByUp !== undefined ? { endedByUp: s.endedByUp } : {}) };
    const at = alert.time !== undefined ? Math.min(Date.parse(alert.time), now) : now;
    const opened = state.open;
    let verdict = decideAlert(state, { status: alert.status, agent: alert.agent, instance: alert.instance, incident: alert.incident, reminder: alert.reminder !== undefined, at }, this.quorum);
    // Held only for want of an open incident: with a shared store, perhaps another mailer's.
    if (this.#shared && !verdict.send && alert.status === 'up' && !opened && alert.incident !== undefined && !this.#book.get(alert.incident)) verdict = { send: true };
    const notices: HubNotice[] = [];
    if (!verdict.send && alert.status === 'down' && !state.open) s.heldTo.add(alert.to);
    if (!verdict.send && verdict.hubDown) {
      const id = hubIncidentId(alert.target, this.#shared ? agreedAt(e.agents) : now);
      openByHub(state, id);
      s.heldTo.add(alert.to);
      notices.push({ status: 'down', target: alert.target, incident: id, agents: verdict.hubDown, recipients: [...s.heldTo], ...(alert.reason !== undefined ? { reason: alert.reason } : {}) });
    }
    if (!verdict.send && verdict.hubUp) notices.push(this.#up(alert.target, verdict.hubUp, s.open));
    if (state.open !== s.open || (verdict.send && verdict.opens)) s.heldTo.clear();
    s.open = state.open;
    if (state.endedByUp !== undefined) s.endedByUp = state.endedByUp;
    else delete s.endedByUp;
    this.#witnessed(s.open);
    return { verdict, notices };
  }

  /** Views changed without an alert (reports, an agent dropped, forgotten): the ups the hub sends for incidents that end. */
  settle(targets: Iterable<string>): HubNotice[] {
    const notices: HubNotice[] = [];
    for (const target of targets) {
      const s = this.#state.get(target);
      const e = this.#board.get(target);
      if (!s?.open || !e) continue;
      const state: LedgerState = { views: e.agents, open: s.open };
      const before = s.open;
      const up = decideSettle(state, this.quorum);
      s.open = state.open;
      if (up) notices.push(this.#up(target, up, before));
      else this.#witnessed(s.open);
    }
    return notices;
  }

  /**
   * A shared store: other mailers' agents' views came in (hub-sync.ts). A target with no incident
   * open, on which this mailer holds a down of its own agents, that now has --quorum agents seeing it
   * down: the hub's down. Its id comes from the agreeing views' times, the same at every mailer that
   * decides so at once, so their downs are one alert (the store refuses the second id).
   */
  reconsider(targets: Iterable<string>): HubNotice[] {
    const notices: HubNotice[] = [];
    for (const target of targets) {
      const s = this.#state.get(target);
      const e = this.#board.get(target);
      if (!s || s.open || s.heldTo.size === 0 || !e || this.#book.openOn(target) || downs(e.agents).length < this.quorum) continue;
      const state: LedgerState = { views: e.agents, open: undefined };
      const id = hubIncidentId(target, agreedAt(e.agents));
      s.open = openByHub(state, id);
      notices.push({ status: 'down', target, incident: id, agents: s.open.witnesses, recipients: [...s.heldTo] });
      s.heldTo.clear();
    }
    return notices;
  }

  /** Closed by hand (or the target forgotten): the rules forget the incident. */
  forget(target: string): void {
    this.#state.delete(target);
  }

  /** How many live agents see the target down, of how many watch it. */
  agreeing(target: string): { down: number; of: number } {
    const e = this.#board.get(target);
    return { down: e ? downs(e.agents).length : 0, of: e?.agents.size ?? 0 };
  }

  #up(target: string, up: { incident: string; by: string[] }, open: LedgerIncident | undefined): HubNotice {
    const row = this.#book.get(up.incident);
    const views = this.#board.get(target)?.agents;
    const restarted = open?.opener !== undefined && up.by.includes(open.opener.agent) && views?.get(open.opener.agent)?.instance !== open.opener.instance;
    return { status: 'up', target, incident: up.incident, agents: up.by, restarted, recipients: row?.recipients ?? [], ...(row ? { openedAt: row.openedAt } : {}) };
  }

  /** The open incident's witnesses onto its row (written when they grew). */
  #witnessed(open: LedgerIncident | undefined): void {
    if (!open) return;
    const row = this.#book.get(open.id);
    if (row && (row.witnesses?.length ?? 0) !== open.witnesses.length) this.#book.setLedger(row, open);
  }

  #of(target: string): { open: LedgerIncident | undefined; endedByUp?: string; heldTo: Set<string> } {
    let s = this.#state.get(target);
    if (!s) {
      const row = this.#book.openOn(target);
      const open = row && {
        id: row.id,
        ...(row.opener !== undefined ? { opener: row.opener } : {}),
        // A row from before the ledger: every agent watching the target may end it.
        witnesses: row.witnesses ?? [...(this.#board.get(target)?.agents.keys() ?? [])],
      };
      s = { open, heldTo: new Set() };
      this.#state.set(target, s);
    }
    return s;
  }
}

/** When the last of the agents seeing a target down said so: the same at every mailer that has their views. */
function agreedAt(views: Views): number {
  return Math.max(...[...views.values()].filter((v) => v.state === 'down').map((v) => v.at));
}

/** The id of an incident the hub opens: stable for its target and time, apart from any agent's. */
export function hubIncidentId(target: string, now: number): string {
  return `hub-${createHash('sha256').update(target).digest('hex').slice(0, 16)}-${now.toString(36)}`;
}
