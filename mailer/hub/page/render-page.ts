/**
 * The hub's HTML pages, server-rendered, complete and readable without
 * JavaScript (the live script, live-client.ts, only keeps them fresh):
 *
 *   renderStatusPage(view, o)           the status page: header (counts, live indicator), targets
 *                                       (filter form + paging), incidents, agents, dead letters,
 *                                       silences (+ the silence form and each one's Remove button
 *                                       when o.csrf is set: POST /silences, POST /silences/<id>/delete;
 *                                       so too an open incident's Close and an agent's Forget, each
 *                                       a button of its section's one form: render-incidents.ts)
 *   renderIncidentList(list, now, c)    its incidents section's list (with the Close buttons when c),
 *                                       which the event stream sends as `incidents`
 *   renderTargetPage(target, list, o)   one target's page: bars, uptimes, response time, incidents
 *   renderLoginPage(o)                  the token form, POST /login
 *
 * No inline script, and one inline style, the stylesheet's first part
 * (page-style.ts), which the CSP allows by its hash (http-answers.ts): the
 * status page needs no other request before its targets can be painted; the
 * rest of the stylesheet (STATUS_REST_PATH) is linked after the targets (in
 * the head on the other pages). No style attribute, no external font or CDN. Targets are filtered (case-insensitive substring of the name) and
 * paged here, perPage a page (DEFAULT_PER_PAGE): 5,000 targets × 114 bars
 * must not all render. Every untrusted string goes through html`` (html.ts).
 */
import type { AgentStatusView, DeadLetterView, IncidentView, SilenceView, StatusView, TargetView } from '../status-view.ts';
import { formatElapsed } from '../../../shared/duration.ts';
import { plural } from './format.ts';
import { html, trusted, type SafeHtml } from './html.ts';
import { STATUS_CSS, STATUS_REST_PATH } from './page-style.ts';
import { incidentList, incidentsSection, renderIncidentList } from './render-incidents.ts';
import { startsAttributes, stripStarts, targetDetail, targetRow, timeAgo, timeAt } from './render-target.ts';

export { renderIncidentList };

export interface PageOptions {
  filter: string;
  page: number;
  perPage: number;
  /** CSRF token for the silence form; undefined: no form (read-only/public) */
  csrf?: string;
  scriptPath: string;
  now: number;
}

export const DEFAULT_PER_PAGE = 50;
/** A longer filter is cut to this (it is echoed in the page and every pager link). */
export const FILTER_MAX = 200;

/** The status page's query (?q=&page=) to PageOptions' filter and page: page a whole number from 1, the filter at most FILTER_MAX. */
export function readPageQuery(params: URLSearchParams): { filter: string; page: number } {
  const page = Number.parseInt(params.get('page') ?? '1', 10);
  return { filter: (params.get('q') ?? '').slice(0, FILTER_MAX), page: Number.isSafeInteger(page) && page >= 1 ? page : 1 };
}

export interface TargetPage {
  rows: TargetView[];
  /** Targets that match the filter (all when it is empty). */
  matched: number;
  /** 1-based, clamped to [1, pages]. */
  page: number;
  pages: number;
  /** Index of rows[0] in the matched list. */
  first: number;
}

/** Filter (case-insensitive substring of the name) then page, keeping the view's order (down first). */
export function pageTargets(targets: readonly TargetView[], filter: string, page: number, perPage: number): TargetPage {
  const needle = filter.trim().toLowerCase();
  const matched = needle === '' ? targets : targets.filter((t) => t.name.toLowerCase().includes(needle));
  const size = Number.isSafeInteger(perPage) && perPage >= 1 ? perPage : DEFAULT_PER_PAGE;
  const pages = Math.max(1, Math.ceil(matched.length / size));
  const at = Math.min(pages, Math.max(1, Number.isSafeInteger(page) ? page : 1));
  const first = (at - 1) * size;
  return { rows: matched.slice(first, first + size), matched: matched.length, page: at, pages, first };
}

/** The stylesheet's first part, a constant of the code (it has no "</style"): inline, so the first paint waits for no request. */
const STYLE = html`<style>${trusted(STATUS_CSS)}</style>`;
/** Its rest: in the body, this holds back only the parsing of what follows it. */
const REST = html`<link rel="stylesheet" href="${STATUS_REST_PATH}">`;

/** A page; its body links the rest of the stylesheet itself (restInBody), else the head does. */
function documentOf(title: string, body: SafeHtml, o: { scriptPath?: string; restInBody?: boolean }): string {
  const script = o.scriptPath === undefined ? '' : html`<script src="${o.scriptPath}" defer></script>`;
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="referrer" content="same-origin"><title>${title}</title>${STYLE}${o.restInBody === true ? '' : REST}${script}</head>
<body data-live="static">${body}<div id="bar-tip" class="bar-tip" aria-live="polite"></div></body></html>
`.markup;
}

function liveIndicator(generatedAt: string): SafeHtml {
  return html`<p class="live"><span class="live-static">Not live: reload for news.</span><span class="live-connecting">Connecting…</span><span class="live-connected">Live</span><span class="live-offline">Offline, reconnecting…</span> Rendered ${timeAt(generatedAt)}.</p>`;
}

function header(view: StatusView): SafeHtml {
  const count = (state: TargetView['state']): number => view.targets.reduce((n, t) => (t.state === state ? n + 1 : n), 0);
  const counts = (['down', 'up', 'unknown'] as const).map((s) => html`<span class="count count-${s}"><strong data-count="${s}">${count(s)}</strong> ${s}</span> `);
  return html`<header class="top"><a class="skip" href="#targets">Skip to targets</a><h1>ch2 status</h1><p class="summary">${counts}</p>${liveIndicator(view.generatedAt)}<nav aria-label="Sections"><a href="#targets">Targets</a> <a href="#incidents">Incidents</a> <a href="#agents">Agents</a> <a href="#dead-letters">Dead letters</a> <a href="#silences">Silences</a></nav></header>`;
}

function pageHref(filter: string, page: number): string {
  const q = new URLSearchParams();
  if (filter !== '') q.set('q', filter);
  q.set('page', String(page));
  return `?${q.toString()}`;
}

function pager(p: TargetPage, filter: string): SafeHtml | '' {
  if (p.pages <= 1) return '';
  const prev = p.page > 1 ? html`<a rel="prev" href="${pageHref(filter, p.page - 1)}">← Previous</a>` : '';
  const next = p.page < p.pages ? html`<a rel="next" href="${pageHref(filter, p.page + 1)}">Next →</a>` : '';
  return html`<nav class="pager" aria-label="Target pages">${prev} <span>Page ${p.page} of ${p.pages}</span> ${next}</nav>`;
}

function targetsSection(view: StatusView, o: PageOptions): SafeHtml {
  const filter = o.filter.slice(0, FILTER_MAX);
  const p = pageTargets(view.targets, filter, o.page, o.perPage);
  const starts = stripStarts(p.rows[0]);
  const matching = filter.trim() === '' ? '' : html` matching “${filter}”`;
  const shown =
    p.matched === 0
      ? view.targets.length === 0
        ? html`No targets reported yet.`
        : html`No target${matching}, of ${view.targets.length}.`
      : html`Targets ${p.first + 1}–${p.first + p.rows.length} of ${p.matched}${matching}${p.matched < view.targets.length ? html` (${view.targets.length} in all)` : ''}, down first.`;
  return html`<section id="targets" aria-labelledby="targets-h"><h2 id="targets-h">Targets</h2><form class="filter" method="get" role="search"><label for="filter">Filter targets by name</label> <input id="filter" name="q" type="search" value="${filter}" maxlength="${FILTER_MAX}" autocomplete="off" spellcheck="false"> <button type="submit">Filter</button></form><p class="t-count">${shown}</p><p id="filter-note" class="note" aria-live="polite"></p><ul class="targets"${startsAttributes(starts)}>${p.rows.map((t) => targetRow(t, o.now, starts))}</ul>${pager(p, filter)}</section>`;
}

const FORGET_FORM_ID = 'a-forget';

/** The agents section's one form (the CSRF token), which each agent's Forget button submits to its own path. */
function forgetForm(csrf: string): SafeHtml {
  return html`<form id="${FORGET_FORM_ID}" method="post"><input type="hidden" name="csrf" value="${csrf}"></form>`;
}

/** The button that forgets an agent and the targets only it watched (POST /agents/<name>/forget, ledger-routes.ts). */
function forgetButton(a: AgentStatusView): SafeHtml {
  return html` <button class="a-forget" form="${FORGET_FORM_ID}" formaction="/agents/${encodeURIComponent(a.name.toWellFormed())}/forget" aria-label="Forget agent ${a.name}">Forget</button>`;
}

function agentRow(a: AgentStatusView, now: number, controls: boolean): SafeHtml {
  return html`<li class="agent" data-agent="${a.name}" data-state="${a.state}"><span class="a-name">${a.name}</span> <span class="state" data-field="state">${a.state}</span> <span class="a-meta">version <span data-field="version">${a.version}</span>, last report ${timeAgo(a.lastReportAt, now, 'last-report')}, <span data-field="targets">${plural(a.targets, 'target')}</span></span>${controls ? forgetButton(a) : ''}</li>`;
}

function agentsSection(agents: readonly AgentStatusView[], now: number, csrf?: string): SafeHtml {
  const list = agents.length === 0 ? html`<p class="note">No agent has reported.</p>` : html`<ul class="agents">${agents.map((a) => agentRow(a, now, csrf !== undefined))}</ul>`;
  return html`<section id="agents" aria-labelledby="agents-h"><h2 id="agents-h">Agents</h2>${list}${csrf !== undefined && agents.length > 0 ? forgetForm(csrf) : ''}</section>`;
}

function deadLetter(d: DeadLetterView, now: number): SafeHtml {
  const reasons = Object.entries(d.reasons).map(([channel, error]) => html`<div><dt>${channel}</dt><dd>${error}</dd></div>`);
  return html`<li class="dead" data-dead-letter="${d.id}"><p><span class="dl-msg">${d.message}</span> <span class="dl-meta">received ${timeAgo(d.receivedAt, now)}, alert <code>${d.id}</code></span></p><dl class="reasons">${reasons}</dl></li>`;
}

function deadLettersSection(dead: readonly DeadLetterView[], now: number): SafeHtml {
  const list =
    dead.length === 0
      ? html`<p class="note">No dead letters.</p>`
      : html`<p class="note">Alerts no channel could deliver, with each channel's last error.</p><ul class="dead-letters">${dead.map((d) => deadLetter(d, now))}</ul>`;
  return html`<section id="dead-letters" aria-labelledby="dead-h"><h2 id="dead-h">Dead letters</h2>${list}</section>`;
}

/** POST /silences/<id, percent-encoded>/delete with the CSRF token. */
function removeForm(s: SilenceView, csrf: string): SafeHtml {
  return html` <form class="s-remove" method="post" action="/silences/${encodeURIComponent(s.id.toWellFormed())}/delete"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" aria-label="Remove the silence on ${s.target}">Remove</button></form>`;
}

function silence(s: SilenceView, now: number, csrf: string | undefined): SafeHtml {
  const until = Date.parse(s.until);
  const left = Number.isNaN(until) ? '' : html` (${formatElapsed(until - now)} left)`;
  const starts = Date.parse(s.startsAt) > now ? html`from ${timeAt(s.startsAt)} ` : '';
  const comment = s.comment === '' ? '' : html` <span class="s-comment">${s.comment}</span>`;
  return html`<li class="silence" data-silence="${s.id}"><code>${s.target || JSON.stringify(s.match ?? {})}</code> ${starts}until ${timeAt(s.until)}${left}.${comment} <span class="s-meta">Set ${timeAgo(s.createdAt, now)}.</span>${csrf === undefined ? '' : removeForm(s, csrf)}</li>`;
}

function silenceForm(csrf: string): SafeHtml {
  return html`<form class="silence-form" method="post" action="/silences"><h3>New silence</h3><input type="hidden" name="csrf" value="${csrf}"><div class="field"><label for="s-target">Targets (a glob, * for any text)</label><input id="s-target" name="target" required maxlength="512" autocomplete="off" spellcheck="false"></div><div class="field"><label for="s-for">For (e.g. 30m, 2h, 1d)</label><input id="s-for" name="for" required maxlength="16" value="2h" autocomplete="off"></div><div class="field"><label for="s-comment">Comment</label><input id="s-comment" name="comment" maxlength="512"></div><button type="submit">Silence</button></form>`;
}

function silencesSection(silences: readonly SilenceView[], o: PageOptions): SafeHtml {
  const list =
    silences.length === 0
      ? html`<p class="note">No silences.</p>`
      : html`<p class="note">While a silence matches a target, its alerts are held back.</p><ul class="silences">${silences.map((s) => silence(s, o.now, o.csrf))}</ul>`;
  return html`<section id="silences" aria-labelledby="silences-h"><h2 id="silences-h">Silences</h2>${list}${o.csrf === undefined ? '' : silenceForm(o.csrf)}</section>`;
}

/** The whole status page. */
export function renderStatusPage(view: StatusView, o: PageOptions): string {
  const main = html`<main>${targetsSection(view, o)}${REST}${incidentsSection(view.incidents, o.now, o.csrf)}${agentsSection(view.agents, o.now, o.csrf)}${deadLettersSection(view.deadLetters, o.now)}${silencesSection(view.silences, o)}</main>`;
  return documentOf('ch2 status', html`${header(view)}${main}`, { scriptPath: o.scriptPath, restInBody: true });
}

/** One target's page: its state, agents, uptimes, response time, bars and incidents. */
export function renderTargetPage(target: TargetView, incidents: IncidentView[], o: PageOptions): string {
  const body = html`<header class="top"><a class="skip" href="#main">Skip to the target</a><p class="crumbs"><a href="/">← ch2 status</a></p></header><main id="main">${targetDetail(target, o.now)}<section id="target-incidents" aria-labelledby="ti-h"><h2 id="ti-h">Incidents</h2>${incidentList(incidents, o.now)}</section></main>`;
  return documentOf(`${target.name} · ch2 status`, body, o);
}

/** The login form: POST /login with the token (a password field) and where to go next. */
export function renderLoginPage(o: { error?: string; next: string }): string {
  const error = o.error === undefined ? '' : html`<p class="error" role="alert">${o.error}</p>`;
  const body = html`<main class="login"><h1>ch2 status</h1>${error}<form method="post" action="/login"><input type="hidden" name="next" value="${o.next}"><div class="field"><label for="token">Token</label><input id="token" name="token" type="password" required autocomplete="current-password"></div><button type="submit">Sign in</button></form></main>`;
  return documentOf('Sign in · ch2 status', body, {});
}
