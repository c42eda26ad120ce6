/**
 * A target on the status page: its row in the targets list (targetRow) and
 * the body of its own page (targetDetail). Both carry data-target (the name)
 * and data-state, the fields the live script updates (the head's .state and
 * .since, the uptimes (.t-stats dd, in order), per agent data-agent-name + data-field="agent-state",
 * the bar strips), its uptime over 24h/7d/30d/90d, the 24 h response-time
 * percentiles (bucket bounds, so "≤ 250 ms"), the last failure, and two bar
 * strips: 90 days and 24 hours; its own page also says when its certificate
 * expires (https, as reported). The state is the view's word, whatever it is
 * (up, down, unknown, stale, …): in data-state, written out, and as the state
 * pill's class (format.ts stateClass).
 *
 * A bar strip is one element and one inline SVG (bar-strip.ts), not an element
 * a bar: a page of 50 rows stays small and quick to show. It is one tab stop
 * (role="img", tabindex=0; the SVG inside is presentational) whose aria-label says how many bars are at each
 * level, so nothing is told by colour alone; its data-bars and data-from carry
 * every bar's figures, from which the live script labels the bar the arrow keys
 * or the pointer are on (format.ts barLabel), and moves the strip on as reports
 * come. Every strip of a page starts on the same day (hour), so the list (or
 * the target's article) carries it once, data-day-from and data-hour-from
 * (stripStarts), and a strip has a data-from of its own only where it differs.
 * All text through html`` (html.ts).
 */
import { UPTIME_WINDOWS, type BarView, type TargetView } from '../status-view.ts';
import { barPaths, encodeBars, SLOT, stripLabel } from './bar-strip.ts';
import { agoOf, formatResponse, formatUptime, stateClass, uptimeLevel, utcTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';

/** The target's own page: /targets/<name, percent-encoded> (lone surrogates as U+FFFD, which encodeURIComponent refuses). */
export function targetHref(name: string): string {
  return `/targets/${encodeURIComponent(name.toWellFormed())}`;
}

/** A time as the page shows it: relative text, the UTC time on hover, the ISO in datetime; the live script refreshes data-ago ones. */
export function timeAgo(iso: string, now: number, field?: string): SafeHtml {
  const ago = agoOf(iso, now);
  return html`<time datetime="${iso}" title="${utcTime(iso)}"${field ? html` data-field="${field}"` : ''} data-ago>${ago || iso}</time>`;
}

/** A UTC time, absolute: "2026-11-30 14:03:07 UTC". */
export function timeAt(iso: string): SafeHtml {
  return html`<time datetime="${iso}">${utcTime(iso)}</time>`;
}

function since(t: TargetView, now: number): SafeHtml {
  return t.since === null
    ? html`<span class="since">no change seen</span>`
    : html`<span class="since">since ${timeAgo(t.since, now)}</span>`;
}

const SILENCED = html` <span class="silenced">silenced</span>`;

function head(t: TargetView, now: number, name: SafeHtml): SafeHtml {
  return html`<div class="t-head">${name} <span class="state ${stateClass(t.state)}">${t.state}</span>${t.silenced && SILENCED} ${since(t, now)}</div>`;
}

function agents(t: TargetView, always: boolean): SafeHtml | '' {
  if (t.agents.length < (always ? 1 : 2)) return '';
  return html`<ul class="t-agents" aria-label="What each agent says">${t.agents.map(
    (a) => html`<li data-agent-name="${a.name}" data-state="${a.state}"><span class="a-name">${a.name}</span>: <span data-field="agent-state">${a.state}</span></li>`,
  )}</ul>`;
}

function stat(label: string, value: string): SafeHtml {
  return html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
}

/** The uptimes (in UPTIME_WINDOWS order: the live script finds them so) then the response times; the words "uptime" and "24h response" before each label come from the CSS (hidden but read), not from every row. */
function stats(t: TargetView): SafeHtml {
  return html`<dl class="t-stats">${UPTIME_WINDOWS.map((w) => stat(w, formatUptime(t.uptime[w] ?? null)))}${stat('p50', formatResponse(t.responseMs.p50))}${stat('p95', formatResponse(t.responseMs.p95))}</dl>`;
}

function lastFailure(t: TargetView): SafeHtml | '' {
  return t.lastFailure === undefined ? '' : html`<p class="t-fail">Last failure: <span>${t.lastFailure}</span></p>`;
}

function certExpiry(t: TargetView): SafeHtml | '' {
  return t.certExpiresAt === undefined ? '' : html`<p class="t-cert">Certificate expires ${timeAt(t.certExpiresAt)}</p>`;
}

/** The first bar's start, short: "2026-09-02" (a day), "2026-11-29T13:00Z" (an hour); both read back with Date.parse. */
function fromOf(start: string, unit: 'day' | 'hour'): string {
  const t = Date.parse(start);
  if (Number.isNaN(t)) return start;
  const iso = new Date(t).toISOString();
  return unit === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 16)}Z`;
}

/** Where a page's strips start: the first bar of each unit (a target's; all of a page's are the same). */
export interface StripStarts {
  day: string;
  hour: string;
}

export function stripStarts(t: TargetView | undefined): StripStarts {
  return { day: fromOf(t?.daily[0]?.start ?? '', 'day'), hour: fromOf(t?.hourly[0]?.start ?? '', 'hour') };
}

/** The starts as the attributes of the element around the strips (live-bars.ts reads them). */
export function startsAttributes(s: StripStarts): SafeHtml {
  return html` data-day-from="${s.day}" data-hour-from="${s.hour}"`;
}

/** One strip of bars, oldest first: one element, one SVG of at most a path a level, one tab stop (live-client.ts moves through the bars). */
export function barStrip(bars: readonly BarView[], unit: 'day' | 'hour', starts: StripStarts): SafeHtml {
  const paths = barPaths(bars.map((b) => uptimeLevel(b.uptime))).map(([level, d]) => html`<path class="${level}" d="${d}"/>`);
  const from = fromOf(bars[0]?.start ?? '', unit);
  return html`<div class="bars bars-${unit}" role="img" tabindex="0" aria-label="${stripLabel(bars, unit)}"${from === starts[unit] ? '' : html` data-from="${from}"`} data-bars="${encodeBars(bars)}"><svg viewBox="0 0 ${Math.max(1, bars.length) * SLOT} 1" preserveAspectRatio="none">${paths}</svg></div>`;
}

/** A row of the targets list, whose element carries the page's strip starts (startsAttributes). */
export function targetRow(t: TargetView, now: number, starts: StripStarts): SafeHtml {
  const name = html`<a class="t-name" href="${targetHref(t.name)}">${t.name}</a>`;
  return html`<li class="target" data-target="${t.name}" data-state="${t.state}">${head(t, now, name)}${agents(t, false)}${stats(t)}${lastFailure(t)}${barStrip(t.daily, 'day', starts)}${barStrip(t.hourly, 'hour', starts)}</li>`;
}

/** The body of a target's own page (its incidents come after it). */
export function targetDetail(t: TargetView, now: number): SafeHtml {
  const name = html`<h1 class="t-name">${t.name}</h1>`;
  const starts = stripStarts(t);
  return html`<article class="target target-page" data-target="${t.name}" data-state="${t.state}"${startsAttributes(starts)}>${head(t, now, name)}${agents(t, true)}${stats(t)}${lastFailure(t)}${certExpiry(t)}<h2>Last 90 days</h2>${barStrip(t.daily, 'day', starts)}<h2>Last 24 hours</h2>${barStrip(t.hourly, 'hour', starts)}</article>`;
}
