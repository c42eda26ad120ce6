/**
 * The hub's incidents: opened by a down alert, added to by its copies to other
 * recipients and its reminders, closed by its up. The key is the agent's
 * incident id (the same on a down, its reminders and its up); an alert
 * without one (the book's raw text) joins the incident open on its target, or
 * opens one of its own. Open incidents are kept in memory (loaded from the store at
 * start); every change is written through to the store and returned to the
 * caller, which tells the page.
 *
 * An alert that names no target has its sender as the target (raw:<ip>,
 * json:<ip>), and no agent will ever send its up: such a sender's incident
 * closes after SENDER_QUIET_MS with no alert on it (sweep), and at most
 * MAX_SENDER_INCIDENTS are open (past that, the one quiet longest closes), so
 * senders from ever new addresses (IPv6) cannot grow the open set for ever.
 * Either is bookkeeping: the change says why (closedBy), and no up is sent.
 *
 * Which alerts reach the channels, and when an incident its agents cannot
 * close ends, is the ledger's (ledger.ts, quorum.ts): a row keeps its opener
 * and witnesses for it (setLedger), and alerts the ledger held are noted on
 * the incident they joined (note). A new incident on a target with one still
 * open closes the old one ("superseded"), so at most one is open per target.
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

/** Open incidents of senders (alerts naming no target) at most. */
export const MAX_SENDER_INCIDENTS = 1000;
/** A sender's incident with no alert on it for this long closes. */
export const SENDER_QUIET_MS = 3_600_000;

export interface IncidentChange {
  row: IncidentRow;
  /** What happened to it. */
  kind: 'opened' | 'updated' | 'closed';
  /** A sender's incident closed by the book, not by an alert: too many open, or quiet. */
  closedBy?: 'cap' | 'quiet';
}

/** Whether a target is an alert's sender (the alert named none): no up will come for it. */
export function isSenderTarget(target: string): boolean {
  return target.startsWith('raw:') || target.startsWith('json:');
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
  /** The open incidents of senders, with their last alert's time: the one quiet longest first. */
  readonly #senders = new Map<string, number>();
  readonly #write: (w: HubWrite) => void;

  constructor(write: (w: HubWrite) => void, open: readonly IncidentRow[] = []) {
    this.#write = write;
    for (const row of open) this.#keep(row);
    const senders = open.filter((row) => isSenderTarget(row.target)).map((row) => [row.id, row.events.at(-1)?.at ?? row.openedAt] as const);
    for (const [id, last] of senders.sort((a, b) => a[1] - b[1])) this.#senders.set(id, last);
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
   * Returns the target the alert is about. `now`: it counts as an alert on
   * the incident it joins, which therefore stays open until the alert is in.
   */
  assign(item: QueuedAlert, peer: string, now: number): string {
    const { target } = incidentOf(item, peer);
    if (item.alert.incident !== undefined) return target;
    const open = this.openOn(target);
    if (open && item.alert.status === 'down') {
      item.hubIncident = open.id;
      this.#heard(open.id, now);
    }
    return target;
  }

  /**
   * Close the senders' incidents with no alert for SENDER_QUIET_MS (at their
   * last alert's time), and the quietest past MAX_SENDER_INCIDENTS.
   */
  sweep(now: number): IncidentChange[] {
    const changes: IncidentChange[] = [];
    for (const [id, last] of this.#senders) {
      const over = this.#senders.size > MAX_SENDER_INCIDENTS;
      if (!over && now - last < SENDER_QUIET_MS) break;
      changes.push(this.#closeSender(this.#open.get(id)!, over ? 'cap' : 'quiet', now, last));
    }
    return changes;
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
      if (isSenderTarget(target) && this.#senders.size >= MAX_SENDER_INCIDENTS) {
        const [quietest, last] = this.#senders.entries().next().value!;
        changes.push(this.#closeSender(this.#open.get(quietest)!, 'cap', now, last));
      }
      row = { id, target, state: 'open', openedAt: at, resolvedAt: null, message: alert.message, reason: alert.reason ?? null, silenced, recipients: [], events: [] };
      if (alert.time !== undefined) this.#event(row, { at, kind: 'detected', text: alert.reason ? `down: ${alert.reason}` : 'down' });
      this.#keep(row);
      if (isSenderTarget(target)) this.#heard(id, now);
      this.#event(row, { at: now, kind: 'alert', text: `alert ${alert.id} to ${alert.to}` });
      if (silenced) this.#event(row, { at: now, kind: 'silenced', text: 'a silence matched: held from the channels while it lasts' });
      this.#recipient(row, alert.to);
      this.#write({ op: 'incident', row });
      changes.push({ row, kind: 'opened' });
      return changes;
    }
    if (this.#senders.has(row.id)) this.#heard(row.id, now);
    const reminder = alert.reminder !== undefined;
    this.#event(row, { at: now, kind: reminder ? 'reminder' : 'alert', text: `${reminder ? `reminder ${alert.reminder}` : 'alert'} ${alert.id} to ${alert.to}${silenced ? ' (silenced)' : ''}` });
    this.#recipient(row, alert.to);
    this.#write({ op: 'incident', row });
    changes.push({ row, kind: 'updated' });
    return changes;
  }

  /** The ledger's word on an open incident (its opener, its witnesses), kept on its row. */
  setLedger(row: IncidentRow, ledger: { opener?: { agent: string; instance: string }; witnesses: readonly string[] }): void {
    if (ledger.opener !== undefined) row.opener = { ...ledger.opener };
    row.witnesses = [...ledger.witnesses];
    this.#write({ op: 'incident', row });
  }

  /**
   * Another mailer's row of an incident (a shared store: hub-sync.ts), kept as it is and not
   * written back: open (one open here on its target under another id is let go), or closed
   * (let go). The change here, if any.
   */
  adopt(row: IncidentRow): IncidentChange | undefined {
    const mine = this.#open.get(row.id);
    if (row.state === 'closed') {
      if (!mine) return undefined;
      this.#letGo(mine);
      return { row, kind: 'closed' };
    }
    const older = this.openOn(row.target);
    if (older && older.id !== row.id) this.#letGo(older);
    this.#keep(row);
    if (isSenderTarget(row.target)) this.#heard(row.id, row.events.at(-1)?.at ?? row.openedAt);
    return { row, kind: mine ? 'updated' : 'opened' };
  }

  /** Closed by hand (its up admitted, or no recipient to take it): the row, closed now, with the comment; undefined when not open. */
  closeByHand(id: string, comment: string, now: number): IncidentRow | undefined {
    const row = this.#open.get(id);
    if (!row) return undefined;
    this.#event(row, { at: now, kind: 'resolved', text: `closed by hand${comment ? `: ${comment}` : ''}` });
    return this.#close(row, now).row;
  }

  /** An alert the ledger held back, noted on the incident open on its target (if any). */
  note(target: string, text: string, now: number): IncidentChange | undefined {
    const row = this.openOn(target);
    if (!row) return undefined;
    this.#event(row, { at: now, kind: 'alert', text });
    this.#write({ op: 'incident', row });
    return { row, kind: 'updated' };
  }

  /** A sender's incident closed by the book: a resolved event saying why, no up. */
  #closeSender(row: IncidentRow, why: 'cap' | 'quiet', now: number, last: number): IncidentChange {
    const text =
      why === 'cap'
        ? `closed: ${MAX_SENDER_INCIDENTS} incidents of senders open, the one quiet longest closes (no up is sent)`
        : `closed: no alert from its sender for ${SENDER_QUIET_MS / 3_600_000} h (no up is sent)`;
    this.#event(row, { at: now, kind: 'resolved', text });
    return { ...this.#close(row, last), closedBy: why };
  }

  /** An alert on a sender's incident now: it is the last one to close for quiet. */
  #heard(id: string, now: number): void {
    this.#senders.delete(id);
    this.#senders.set(id, now);
  }

  #close(row: IncidentRow, at: number): IncidentChange {
    row.state = 'closed';
    row.resolvedAt = Math.max(at, row.openedAt);
    this.#letGo(row);
    this.#write({ op: 'incident', row });
    return { row, kind: 'closed' };
  }

  #letGo(row: IncidentRow): void {
    this.#open.delete(row.id);
    this.#senders.delete(row.id);
    if (this.#byTarget.get(row.target) === row.id) this.#byTarget.delete(row.target);
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
