/**
 * Incidents on the status page: the <section id="incidents"> and, inside it,
 * the list the event stream sends (as `incidents`: the <div id="incident-list">
 * fragment, which the live script swaps in), and the plain list a target's own
 * page shows. Open incidents first (the given order kept otherwise), then
 * the latest closed ones (the view's few: hub-view.ts; a line says where the
 * older ones are: each target's page, and the API), each with data-incident (its id) and data-state
 * (open|closed), its target, message and reason, when it opened and for how
 * long, "silenced" in text when a silence covers it, its timeline (events, in
 * a <details> that is open while the incident is) and its deliveries: one
 * element per alert and channel with data-delivery, data-channel and
 * data-outcome (pending|retrying|sent|dead), the attempts and the last error
 * (the alert id and error only in the view for the token's holder:
 * hub-view.ts). All text through html`` (html.ts).
 *
 * Closing by hand (POST /incidents/<id>/close, ledger-routes.ts) is one form
 * for the whole section, before the list (#i-close: the CSRF token and a
 * comment, a textarea, so Enter never submits it), and a Close button on each
 * open incident that names it (form="i-close", formaction its path): the list
 * carries no CSRF token, so the event stream renders it once for every reader
 * who may write, and a comment being typed survives the list's swaps. Both
 * only with `controls` (a reader who may write: the token's holder, or a
 * loopback one without --token); never in the public view.
 */
import type { DeliveryView, IncidentEventView, IncidentView } from '../status-view.ts';
import { formatElapsed } from '../../../shared/duration.ts';
import { plural } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { targetHref, timeAgo, timeAt } from './render-target.ts';

/** The id of the live part of the section (what the event stream sends). */
const INCIDENT_LIST_ID = 'incident-list';
const CLOSE_FORM_ID = 'i-close';

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
    ? html`Opened ${timeAt(i.openedAt)}, down for ${length} so far.`
    : html`Opened ${timeAt(i.openedAt)}, resolved ${timeAgo(i.resolvedAt, now)}, after ${length}.`;
}

/** The section's one close form: the CSRF token and the comment; each open incident's Close button submits it. */
function closeForm(csrf: string): SafeHtml {
  return html`<form id="${CLOSE_FORM_ID}" class="i-close-form" method="post"><input type="hidden" name="csrf" value="${csrf}"><label for="i-comment">Comment for an incident you close by hand</label> <textarea id="i-comment" name="comment" maxlength="200" rows="1"></textarea></form>`;
}

/** An open incident's Close button (POST /incidents/<id>/close with #i-close's fields). */
function closeButton(i: IncidentView): SafeHtml {
  return html`<button class="i-close" form="${CLOSE_FORM_ID}" formaction="/incidents/${encodeURIComponent(i.id.toWellFormed())}/close" aria-label="Close the incident on ${i.target} by hand">Close</button>`;
}

function incident(i: IncidentView, now: number, controls: boolean): SafeHtml {
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
  return html`<li class="incident" data-incident="${i.id}" data-state="${i.state}"><h3 class="i-head"><a href="${targetHref(i.target)}">${i.target}</a> <span class="state">${open ? 'open' : 'closed'}</span>${i.silenced && html` <span class="silenced">silenced</span>`}</h3><p class="i-msg">${i.message}${reason}</p><p class="i-when">${when(i, now)}</p>${open && controls ? closeButton(i) : ''}${events}${deliveries}</li>`;
}

/** The incidents as a list (no heading), open first; a sentence when there are none. `more`: a line on where the older ones are. */
export function incidentList(incidents: readonly IncidentView[], now: number, o: { controls?: boolean; more?: boolean } = {}): SafeHtml {
  if (incidents.length === 0) return html`<p class="note">No incidents.</p>`;
  const ordered = openFirst(incidents);
  const open = ordered.filter((i) => i.state === 'open').length;
  const more = o.more === true && ordered.length > open ? html` Older ones: on each target's page, and <a href="/api/v1/incidents?state=closed&amp;limit=1000">all as JSON</a>.` : '';
  return html`<p class="i-count">${open} open, ${ordered.length - open} closed shown.${more}</p><ol class="incidents">${ordered.map((i) => incident(i, now, o.controls === true))}</ol>`;
}

function livePart(incidents: readonly IncidentView[], now: number, controls: boolean): SafeHtml {
  return html`<div id="${INCIDENT_LIST_ID}">${incidentList(incidents, now, { controls, more: true })}</div>`;
}

/** The live part of the status page's incidents section: what the event stream sends (event-stream.ts), with the Close buttons when `controls`. */
export function renderIncidentList(incidents: readonly IncidentView[], now: number, controls: boolean): string {
  return livePart(incidents, now, controls).markup;
}

/** The status page's <section id="incidents">; the close form and buttons only with a CSRF token. */
export function incidentsSection(incidents: readonly IncidentView[], now: number, csrf?: string): SafeHtml {
  return html`<section id="incidents" aria-labelledby="incidents-h"><h2 id="incidents-h">Incidents</h2>${csrf === undefined ? '' : closeForm(csrf)}${livePart(incidents, now, csrf !== undefined)}</section>`;
}
