/**
 * The hub's incidents: opened by a down alert, added to by its copies to other
 * recipients and its reminders, closed by its up. The key is the agent's
 * incident id (the same on a down, its reminders and its up); an alert
 * without one (the book's raw text) opens an incident of its own, which no
 * up ever closes. Open incidents are kept in memory (loaded from the store at
 * start); every change is written through to the store and returned to the
 * caller, which tells the page.
 *
 * An incident left open when its agent restarted (the down was sent, the up
 * never) is closed when a report from an agent instance that first reported
 * after it opened says the target is up (staleFor): the hub then sends the
 * recovery itself (hub.ts). A new incident on a target with one still open
 * closes the old one ("superseded"), so at most one is open per target.
 *
 * No I/O of its own: `write` is the store's hubWrite, time comes as arguments.
 */
import { incidentKey, type QueuedAlert } from '../queued-alert.ts';
import type { HubWrite, IncidentEvent, IncidentRow } from './model.ts';

/** Events kept per incident (the first ones and the last ones): a long outage's reminders do not grow it for ever. */
const MAX_EVENTS = 40;
/**
 * After this many events, further plain alerts (a flood of the book's raw text
 * joining one incident, copies to many recipients) are counted in one last
 * event rather than listed: the incident's row, rewritten with each commit
 * that touches it, stays small (a 3 KB row a commit cost a fifth of the intake's rate).
 */
const LISTED_ALERTS = 8;

export interface IncidentChange {
  row: IncidentRow;
  /** What happened to it. */
  kind: 'opened' | 'updated' | 'closed';
}

/** The incident an alert belongs to, and the target it is about (an alert naming none: its sender, raw:<ip> or json:<ip>). */
export function incidentOf(item: QueuedAlert, peer: string): { id: string; target: string } {
  const { alert } = item;
  const target = alert.target ?? `${item.via}:${peerHost(peer)}`;
  return { id: incidentKey(item), target };
}

function peerHost(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

export class IncidentBook {
  readonly #open = new Map<string, IncidentRow>();
  readonly #byTarget = new Map<string, string>();
  readonly #write: (w: HubWrite) => void;

  constructor(write: (w: HubWrite) => void, open: readonly IncidentRow[] = []) {
    this.#write = write;
    for (const row of open) this.#keep(row);
  }

  /** The incident open on a target now. */
  openOn(target: string): IncidentRow | undefined {
    const id = this.#byTarget.get(target);
    return id === undefined ? undefined : this.#open.get(id);
  }

  get(id: string): IncidentRow | undefined {
    return this.#open.get(id);
  }

  get openCount(): number {
    return this.#open.size;
  }

  /**
   * Before an alert that names no incident is kept: the incident open on its
   * target, which it joins (item.hubIncident), so that a sender's alerts, a
   * storm of the book's raw text say, make one incident rather than one each.
   * Returns the target the alert is about.
   */
  assign(item: QueuedAlert, peer: string): string {
    const { target } = incidentOf(item, peer);
    if (item.alert.incident !== undefined) return target;
    const open = this.openOn(target);
    if (open && item.alert.status === 'down') item.hubIncident = open.id;
    return target;
  }

  /** An accepted alert (not a duplicate), received at `now`; silenced: kept from the channels by a silence. */
  alert(item: QueuedAlert, peer: string, silenced: boolean, now: number): IncidentChange[] {
    const { alert } = item;
    const { id, target } = incidentOf(item, peer);
    // When the agent saw it; never later than its arrival (a clock ahead of the hub's).
    const at = alert.time !== undefined ? Math.min(Date.parse(alert.time), now) : now;
    const changes: IncidentChange[] = [];
    let row = this.#open.get(id);
    if (alert.status === 'up') {
      // An up that names no incident (a JSON alert by hand) closes its target's.
      if (!row && alert.incident === undefined) row = this.openOn(target);
      if (!row) return changes; // its down came before this hub kept incidents, or it closed already
      this.#event(row, { at: now, kind: 'resolved', text: alert.message });
      this.#recipient(row, alert.to);
      changes.push(this.#close(row, at));
      return changes;
    }
    if (!row) {
      const older = this.openOn(target);
      if (older) {
        this.#event(older, { at: now, kind: 'resolved', text: 'superseded by a new incident on the same target' });
        changes.push(this.#close(older, now));
      }
      row = { id, target, state: 'open', openedAt: at, resolvedAt: null, message: alert.message, reason: alert.reason ?? null, silenced, recipients: [], events: [] };
      if (alert.time !== undefined) this.#event(row, { at, kind: 'detected', text: alert.reason ? `down: ${alert.reason}` : 'down' });
      this.#keep(row);
      this.#event(row, { at: now, kind: 'alert', text: `alert ${alert.id} to ${alert.to}` });
      if (silenced) this.#event(row, { at: now, kind: 'silenced', text: 'a silence matched: not sent to the channels' });
      this.#recipient(row, alert.to);
      this.#write({ op: 'incident', row });
      changes.push({ row, kind: 'opened' });
      return changes;
    }
    const reminder = alert.reminder !== undefined;
    this.#event(row, { at: now, kind: reminder ? 'reminder' : 'alert', text: `${reminder ? `reminder ${alert.reminder}` : 'alert'} ${alert.id} to ${alert.to}${silenced ? ' (silenced)' : ''}` });
    this.#recipient(row, alert.to);
    this.#write({ op: 'incident', row });
    changes.push({ row, kind: 'updated' });
    return changes;
  }

  /**
   * The incident open on `target` that an agent instance first seen at
   * `instanceSince` cannot know of (it opened before that instance started),
   * now that the instance reports the target up.
   */
  staleFor(target: string, instanceSince: number): IncidentRow | undefined {
    const row = this.openOn(target);
    return row && row.openedAt < instanceSince ? row : undefined;
  }

  #close(row: IncidentRow, at: number): IncidentChange {
    row.state = 'closed';
    row.resolvedAt = Math.max(at, row.openedAt);
    this.#open.delete(row.id);
    if (this.#byTarget.get(row.target) === row.id) this.#byTarget.delete(row.target);
    this.#write({ op: 'incident', row });
    return { row, kind: 'closed' };
  }

  #keep(row: IncidentRow): void {
    this.#open.set(row.id, row);
    this.#byTarget.set(row.target, row.id);
  }

  #recipient(row: IncidentRow, to: string): void {
    if (!row.recipients.includes(to) && row.recipients.length < 100) row.recipients.push(to);
  }

  #event(row: IncidentRow, event: IncidentEvent): void {
    if (event.kind === 'alert' && row.events.length >= LISTED_ALERTS) {
      const last = row.events.at(-1)!;
      const more = last.kind === 'alert' && last.more !== undefined ? last.more + 1 : 1;
      const counted: IncidentEvent = { at: event.at, kind: 'alert', text: `${more} more alert${more === 1 ? '' : 's'}, the last: ${event.text}`, more };
      if (more > 1) row.events[row.events.length - 1] = counted;
      else row.events.push(counted);
      return;
    }
    row.events.push(event);
    if (row.events.length > MAX_EVENTS) row.events.splice(MAX_EVENTS / 2, 1);
  }
}
