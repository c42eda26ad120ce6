/**
 * The ledger's rules, in one place and pure (no I/O; time comes as arguments):
 * what each live agent watching a target sees of it (its view), and from the
 * views and the target's open incident, whether an agent's alert goes to the
 * channels or the hub holds it back, and when the hub opens or closes the
 * incident itself. hub.ts applies the verdicts; target-board.ts keeps the views.
 *
 *   --quorum k: a target is down when at least k live agents see it down. The
 *   first down alert that makes k goes through (k = 1: the agent's own; k > 1:
 *   the hub's, naming the agents that agree); every other down on the target
 *   joins the incident (held). A reminder goes through only when it is the
 *   opener's (it names the incident's id).
 *   An incident ends when fewer than k live agents see the target down and
 *   one of its witnesses (the agents that saw it down while it was open: the
 *   opener and those that joined) sees it up: the witness's own up goes
 *   through when it names the incident's id, else the hub sends an up on that
 *   id. So a second agent's up never ends an outage it did not see, and after
 *   a restart only a new instance of a witness can end it.
 *   An up with no open incident goes through only as a copy (another
 *   recipient) of the up that just ended one; otherwise its down was never
 *   told (held below the quorum, or joined) and neither is it.
 *
 * Views: an alert is an agent's word on a target at its time; a report only
 * says what the agent has not said by alert (a report built before an alert
 * can arrive after it), unless it comes from a new instance of the agent (a
 * restart: its views start again from its second report; the first may be a
 * second agent under the same name, shared). An agent that stops or goes silent has
 * no views (drop it); a target with none is stale (target-board.ts).
 */

export type ViewState = 'up' | 'down' | 'unknown';

export interface View {
  /** The agent's instance that said it. */
  instance: string;
  state: ViewState;
  /** An alert's word outranks a report's of the same instance. */
  source: 'alert' | 'report';
  /** When the agent said it (its own clock: the alert's time, the report's sentAt). */
  at: number;
}

/** Live agents' views of one target, by agent name. */
export type Views = Map<string, View>;

/** What the ledger keeps of a target's open incident. */
export interface LedgerIncident {
  id: string;
  /** The agent (and instance) whose down opened it; undefined: the hub opened it (quorum > 1, or by hand). */
  opener?: { agent: string; instance: string };
  /** The agents that saw it down while it was open. */
  witnesses: string[];
}

/** The per-target state the rules read and change. */
export interface LedgerState {
  views: Views;
  open: LedgerIncident | undefined;
  /** The incident an agent's own up just ended: its copies to other recipients go through too. */
  endedByUp?: string;
}

export interface AgentAlert {
  status: 'up' | 'down';
  agent: string;
  instance: string;
  incident: string | undefined;
  reminder: boolean;
  at: number;
}

export type Verdict =
  /** To the channels. opens: it opens the incident (k = 1); ends: its up ends it. */
  | { send: true; opens?: LedgerIncident; ends?: string }
  /**
   * Held back from the channels. hubDown: the hub opens the incident with its
   * own down (the agents that agree); hubUp: the hub ends it with its own up.
   */
  | { send: false; why: string; hubDown?: string[]; hubUp?: { incident: string; by: string[] } };

/**
 * An agent's word on a target; false when it changes nothing (older, or
 * outranked). shared: two agents report under the name, so a report from
 * the other instance does not outrank an alert either.
 */
export function see(views: Views, agent: string, word: View, shared = false): boolean {
  const had = views.get(agent);
  if (had !== undefined && shared && word.source === 'report' && had.source === 'alert') return false;
  if (had !== undefined && had.instance === word.instance) {
    if (word.source === 'report' && had.source === 'alert') return false;
    if (word.at < had.at) return false;
    if (had.state === word.state && had.source === word.source) {
      had.at = word.at;
      return false;
    }
  }
  views.set(agent, { ...word });
  return true;
}

export function downs(views: Views): string[] {
  return [...views].filter(([, v]) => v.state === 'down').map(([name]) => name);
}

export function ups(views: Views): string[] {
  return [...views].filter(([, v]) => v.state === 'up').map(([name]) => name);
}

/** The agents that see the target down now join the open incident's witnesses. */
function witness(state: LedgerState): void {
  if (!state.open) return;
  for (const name of downs(state.views)) if (!state.open.witnesses.includes(name)) state.open.witnesses.push(name);
}

/** Whether the open incident ends now: fewer than k see it down and a witness sees it up (those witnesses). */
export function ending(state: LedgerState, quorum: number): string[] | undefined {
  if (!state.open || downs(state.views).length >= quorum) return undefined;
  const by = state.open.witnesses.filter((w) => state.views.get(w)?.state === 'up');
  return by.length > 0 ? by : undefined;
}

/** An agent's alert on the target: its view taken, then the verdict (the state is updated to match). */
export function decideAlert(state: LedgerState, alert: AgentAlert, quorum: number): Verdict {
  see(state.views, alert.agent, { instance: alert.instance, state: alert.status, source: 'alert', at: alert.at });
  witness(state);
  const open = state.open;
  if (alert.status === 'down') {
    if (open) {
      if (alert.incident === open.id) return { send: true };
      return { send: false, why: alert.reminder ? 'a reminder of an agent that did not open the incident' : `joins incident ${open.id}, already told` };
    }
    if (alert.reminder) return { send: false, why: 'a reminder of an incident not told' };
    const agree = downs(state.views);
    if (agree.length < quorum) return { send: false, why: `${agree.length} of the ${quorum} agents the quorum needs see it down` };
    state.endedByUp = undefined;
    if (quorum === 1 && alert.incident !== undefined) {
      state.open = { id: alert.incident, opener: { agent: alert.agent, instance: alert.instance }, witnesses: agree };
      return { send: true, opens: state.open };
    }
    return { send: false, why: 'the hub tells the down itself', hubDown: agree };
  }
  if (!open) {
    if (alert.incident !== undefined && alert.incident === state.endedByUp) return { send: true };
    return { send: false, why: 'its down was not told' };
  }
  const by = ending(state, quorum);
  if (!by) return { send: false, why: downs(state.views).length >= quorum ? 'other agents still see it down' : 'no agent that saw it down sees it up' };
  state.open = undefined;
  if (alert.incident === open.id) {
    state.endedByUp = open.id;
    return { send: true, ends: open.id };
  }
  state.endedByUp = undefined;
  return { send: false, why: 'the hub tells the up itself', hubUp: { incident: open.id, by } };
}

/** After views changed without an alert (a report, an agent dropped): the up the hub sends, if the incident ends. */
export function decideSettle(state: LedgerState, quorum: number): { incident: string; by: string[] } | undefined {
  witness(state);
  const by = ending(state, quorum);
  if (!by || !state.open) return undefined;
  const incident = state.open.id;
  state.open = undefined;
  state.endedByUp = undefined;
  return { incident, by };
}

/** The hub opened the incident (its own down, or a quorum reached): the agents that agree are its witnesses. */
export function openByHub(state: LedgerState, id: string): LedgerIncident {
  state.open = { id, witnesses: downs(state.views) };
  return state.open;
}
