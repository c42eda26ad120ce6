/**
 * The hub's own alerts on an incident, as JSON alert requests for its
 * AlertSink (admitted like any alert, peer "hub"): the down that opens an
 * incident the quorum confirmed, naming the agents that agree; the up that
 * ends one whose witnesses' own up could not (another agent's, or a restarted
 * agent's new instance); and the "closed by hand" up. One per recipient of
 * the incident's down alerts (none known: the default recipient), each with
 * an id of its own derived from the incident's, so a retry is a duplicate.
 */
import type { AlertRequest } from '../../shared/wire-json.ts';
import type { HubNotice } from './ledger.ts';

const list = (names: readonly string[]): string => names.join(', ');

export function noticeRequests(n: HubNotice, quorum: number, now: number): AlertRequest[] {
  const recipients = n.recipients.length > 0 ? n.recipients : [undefined];
  const kind = n.status === 'down' ? 'down' : 'up';
  const message =
    n.status === 'down'
      ? `${n.target} is down (${n.agents.length === 1 ? `agent ${n.agents[0]} sees it down` : `agents ${list(n.agents)} see it down`}; quorum ${quorum}).`
      : n.restarted
        ? `${n.target} is up again (agent ${list(n.agents)} reports it up; the agent that saw it go down restarted).`
        : `${n.target} is up again (${n.agents.length === 1 ? `agent ${n.agents[0]} reports` : `agents ${list(n.agents)} report`} it up).`;
  return recipients.map((to, i) => ({
    id: `${n.incident}-hub-${kind}${recipients.length > 1 ? `-${i}` : ''}`.slice(0, 128),
    ...(to !== undefined ? { to } : {}),
    message,
    status: n.status,
    target: n.target,
    incident: n.incident,
    time: new Date(now).toISOString(),
    ...(n.status === 'down' && n.reason !== undefined ? { reason: n.reason } : {}),
    ...(n.status === 'up' ? { downForMs: Math.max(0, now - (n.openedAt ?? now)) } : {}),
  }));
}

/** The up of an incident closed by hand (POST /api/v1/incidents/<id>/close), to each recipient its downs went to. */
export function closedByHandRequests(incident: string, target: string, recipients: readonly string[], comment: string, openedAt: number, now: number): AlertRequest[] {
  const to = recipients.length > 0 ? [...recipients] : [undefined];
  return to.map((r, i) => ({
    id: `${incident}-hub-closed${to.length > 1 ? `-${i}` : ''}`.slice(0, 128),
    ...(r !== undefined ? { to: r } : {}),
    message: `${target}: incident closed by hand${comment ? ` (${comment})` : ''}.`,
    status: 'up' as const,
    target,
    incident,
    time: new Date(now).toISOString(),
    downForMs: Math.max(0, now - openedAt),
  }));
}
