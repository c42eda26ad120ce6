/**
 * A target on the status page: its row in the targets list (targetRow) and
 * the body of its own page (targetDetail). Both carry data-target (the name)
 * and data-state, the fields the live script updates (data-field="state",
 * "since", per agent data-agent-name + data-field="agent-state"), its uptime
 * over 24h/7d/30d/90d, the 24 h response-time percentiles (bucket bounds, so
 * "≤ 250 ms"), the last failure, and two bar strips: 90 days and 24 hours.
 *
 * A bar strip is one tab stop (role="group", tabindex=0, an aria-label
 * saying what the bars are); each bar is a role="img" span whose aria-label
 * and title say its day or hour, uptime and incidents, so nothing is told by
 * colour alone. Bars are the bulk of the page (114 a target), so their markup
 * stays short. All text through html`` (html.ts).
 */
import { DAILY_BARS, HOURLY_BARS, UPTIME_WINDOWS, type BarView, type TargetView } from '../status-view.ts';
import { agoOf, barLabel, formatResponse, formatUptime, uptimeLevel, utcTime } from './format.ts';
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
    ? html`<span class="since" data-field="since">no change seen</span>`
    : html`<span class="since" data-field="since">since ${timeAgo(t.since, now)}</span>`;
}

const SILENCED = html` <span class="silenced">silenced</span>`;

function head(t: TargetView, now: number, name: SafeHtml): SafeHtml {
  return html`<div class="t-head">${name} <span class="state" data-field="state">${t.state}</span>${t.silenced && SILENCED} ${since(t, now)}</div>`;
}

function agents(t: TargetView, always: boolean): SafeHtml | '' {
  if (t.agents.length < (always ? 1 : 2)) return '';
  return html`<ul class="t-agents" aria-label="What each agent says">${t.agents.map(
    (a) => html`<li data-agent-name="${a.name}" data-state="${a.state}"><span class="a-name">${a.name}</span>: <span data-field="agent-state">${a.state}</span></li>`,
  )}</ul>`;
}

function stat(label: string, hidden: string, value: string): SafeHtml {
  return html`<div><dt><span class="vh">${hidden} </span>${label}</dt><dd>${value}</dd></div>`;
}

function stats(t: TargetView): SafeHtml {
  return html`<dl class="t-stats">${UPTIME_WINDOWS.map((w) => stat(w, 'uptime', formatUptime(t.uptime[w] ?? null)))}${stat('p50', '24h response', formatResponse(t.responseMs.p50))}${stat('p95', '24h response', formatResponse(t.responseMs.p95))}</dl>`;
}

function lastFailure(t: TargetView): SafeHtml | '' {
  return t.lastFailure === undefined ? '' : html`<p class="t-fail">Last failure: <span>${t.lastFailure}</span></p>`;
}

function bar(b: BarView, unit: 'day' | 'hour'): SafeHtml {
  const label = barLabel(b, unit);
  return html`<span class="bar ${uptimeLevel(b.uptime)}" role="img" aria-label="${label}" title="${label}"></span>`;
}

/** One strip of bars, oldest first: a single tab stop whose arrow keys move through the bars (live-client.ts). */
export function barStrip(bars: readonly BarView[], unit: 'day' | 'hour'): SafeHtml {
  const what = unit === 'day' ? `Uptime per day, last ${bars.length || DAILY_BARS} days, oldest first` : `Uptime per hour, last ${bars.length || HOURLY_BARS} hours, oldest first`;
  return html`<div class="bars bars-${unit}" role="group" tabindex="0" aria-label="${what}">${bars.map((b) => bar(b, unit))}</div>`;
}

/** A row of the targets list. */
export function targetRow(t: TargetView, now: number): SafeHtml {
  const name = html`<a class="t-name" href="${targetHref(t.name)}">${t.name}</a>`;
  return html`<li class="target" data-target="${t.name}" data-state="${t.state}">${head(t, now, name)}${agents(t, false)}${stats(t)}${lastFailure(t)}${barStrip(t.daily, 'day')}${barStrip(t.hourly, 'hour')}</li>`;
}

/** The body of a target's own page (its incidents come after it). */
export function targetDetail(t: TargetView, now: number): SafeHtml {
  const name = html`<h1 class="t-name">${t.name}</h1>`;
  return html`<article class="target target-page" data-target="${t.name}" data-state="${t.state}">${head(t, now, name)}${agents(t, true)}${stats(t)}${lastFailure(t)}<h2>Last 90 days</h2>${barStrip(t.daily, 'day')}<h2>Last 24 hours</h2>${barStrip(t.hourly, 'hour')}</article>`;
}
