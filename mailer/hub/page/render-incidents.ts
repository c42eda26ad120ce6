/**
 * Incidents on the status page: the <section id="incidents"> fragment (the
 * event stream sends it as `incidents` and the live script swaps it in)
 * and the plain list a target's own page shows. Open incidents first (the
 * given order kept otherwise), each with data-incident (its id) and
 * data-state (open|closed), its target, message and reason, when it opened
 * and for how long, "silenced" in text when a silence covers it, its
 * timeline (events, in a <details> that is open while the incident is) and
 * its deliveries: one element per alert and channel with data-delivery,
 * data-channel and data-outcome (pending|retrying|sent|dead), the attempts
 * and the last error (the alert id and error only in the view for the
 * token's holder: hub-view.ts). All text through html`` (html.ts).
 */
import type { DeliveryView, IncidentEventView, IncidentView } from '../status-view.ts';
import { formatElapsed } from '../../../shared/duration.ts';
import { plural } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { targetHref, timeAgo, timeAt } from './render-target.ts';

/** Open ones first; otherwise as given (the view has them newest first). */
export function openFirst(incidents: readonly IncidentView[]): IncidentView[] {
  return [...incidents.filter((i) => i.state === 'open'), ...incidents.filter((i) => i.state !== 'open')];
}

function event(e: IncidentEventView): SafeHtml {
  return html`<li>${timeAt(e.at)} <span class="ev ev-${e.kind}">${e.kind}</span> ${e.text}</li>`;
}

function delivery(d: DeliveryView, now: number): SafeHtml {
  const error = d.error === undefined ? '' : html`, last error: <span class="err">${d.error}</span>`;
  return html`<li data-delivery data-channel="${d.channel}" data-outcome="${d.state}"><span class="ch">${d.channel}</span>: <span class="outcome">${d.state}</span>, ${plural(d.attempts, 'attempt')}, ${timeAgo(d.at, now)}${d.alertId === undefined ? '' : html`, alert <code>${d.alertId}</code>`}${error}</li>`;
}

function when(i: IncidentView, now: number): SafeHtml {
  const length = formatElapsed(i.lengthMs);
  return i.state === 'open' || i.resolvedAt === undefined
    ? html`Opened ${timeAgo(i.openedAt, now)} (${timeAt(i.openedAt)}), down for ${length} so far.`
    : html`Opened ${timeAt(i.openedAt)}, resolved ${timeAgo(i.resolvedAt, now)}, after ${length}.`;
}

/** The button that closes an open incident by hand (POST /incidents/<id>/close, ledger-routes.ts). */
function closeForm(i: IncidentView, csrf: string): SafeHtml {
  return html`<form class="i-close" method="post" action="/incidents/${encodeURIComponent(i.id.toWellFormed())}/close"><input type="hidden" name="csrf" value="${csrf}"><input name="comment" maxlength="200" placeholder="comment" aria-label="Comment"><button type="submit" aria-label="Close the incident on ${i.target} by hand">Close</button></form>`;
}

function incident(i: IncidentView, now: number, csrf?: string): SafeHtml {
  const open = i.state === 'open';
  const reason = i.reason === undefined ? '' : html` <span class="reason">(${i.reason})</span>`;
  const events =
    i.events.length === 0
      ? ''
      : html`<details class="timeline"${open ? html` open` : ''}><summary>Timeline (${plural(i.events.length, 'event')})</summary><ol>${i.events.map(event)}</ol></details>`;
  const deliveries =
    i.deliveries.length === 0
      ? html`<p class="note">No deliveries recorded.</p>`
      : html`<ul class="deliveries" aria-label="Deliveries">${i.deliveries.map((d) => delivery(d, now))}</ul>`;
  return html`<li class="incident" data-incident="${i.id}" data-state="${i.state}"><h3 class="i-head"><a href="${targetHref(i.target)}">${i.target}</a> <span class="state">${open ? 'open' : 'closed'}</span>${i.silenced && html` <span class="silenced">silenced</span>`}</h3><p class="i-msg">${i.message}${reason}</p><p class="i-when">${when(i, now)}</p>${open && csrf !== undefined ? closeForm(i, csrf) : ''}${events}${deliveries}</li>`;
}

/** The incidents as a list (no heading), open first; a sentence when there are none. */
export function incidentList(incidents: readonly IncidentView[], now: number, csrf?: string): SafeHtml {
  if (incidents.length === 0) return html`<p class="note">No incidents.</p>`;
  const ordered = openFirst(incidents);
  const open = ordered.filter((i) => i.state === 'open').length;
  return html`<p class="i-count">${open} open, ${ordered.length - open} closed shown.</p><ol class="incidents">${ordered.map((i) => incident(i, now, csrf))}</ol>`;
}

/** The status page's <section id="incidents">. */
export function incidentsSection(incidents: readonly IncidentView[], now: number, csrf?: string): SafeHtml {
  return html`<section id="incidents" aria-labelledby="incidents-h"><h2 id="incidents-h">Incidents</h2>${incidentList(incidents, now, csrf)}</section>`;
}

/** The <section id="incidents"> fragment of the status page (the event stream sends it: event-stream.ts). */
export function renderIncidentsSection(incidents: IncidentView[], now: number): string {
  return incidentsSection(incidents, now).markup;
}
