/// <reference lib="dom" />
/**
 * The status page's script, for the browser (scripts/build.ts bundles it
 * into dist/mailer-page.js, an IIFE; the page works without it). It:
 *
 *   - listens to GET /api/v1/events (EventSource, which reconnects by itself; a
 *     stream the server closed for good is reopened after FIRST_RETRY_MS, doubling
 *     to RETRY_MS while it keeps being refused) and sets
 *     body[data-live] to connecting, connected or offline (the CSS shows which);
 *   - `target` {name, state, since, agents}: updates the row whose data-target is
 *     that name (compared through dataset, never put into a selector): its
 *     data-state (any state word: up, down, unknown, stale, …), state text and
 *     its class, since, per-agent states, and the header counts; a target not
 *     on this page is ignored;
 *   - `figures` {at, targets: [[name, up24h, up7d, up30d, up90d, hour, day]]} (after
 *     each report; hour and day are the current bars' bar-strip.ts tokens):
 *     updates those rows' uptimes and the last bar of each strip, moving the
 *     strip on when a new hour or day has begun, and the strip's label;
 *   - `incidents` {html}: the list of the server's incidents section (with the
 *     Close buttons when this reader may write), rendered once for all
 *     streams when an incident changes and sent with every new stream (no
 *     request of the page's own: a refetch could fail and log): swaps
 *     #incident-list for it, keeping which timelines were open and the focus
 *     (the section's close form and its comment stay as they are);
 *   - `agent` (AgentStatusView): updates the row whose data-agent is that name;
 *   - filters the target rows on this page as #filter is typed in (the GET form
 *     still searches all targets on Enter);
 *   - moves through the bars of a strip with the arrow keys or the pointer
 *     (live-bars.ts);
 *   - refreshes the relative times (time[data-ago]) every TICK_MS.
 *
 * Event data is untrusted text: it only ever goes into textContent, dataset
 * and comparisons; the incidents list is the server's own escaped markup
 * (page/html.ts), taken only when it starts as that list does. Every lookup is guarded: no console error, whatever the
 * page or the data.
 */
import { agoOf, formatUptime, plural, stateClass, utcTime } from './format.ts';
import { startBars, unitOf, updateStrip } from './live-bars.ts';

const EVENTS_PATH = '/api/v1/events';
const FIRST_RETRY_MS = 2_000;
const RETRY_MS = 30_000;
let retryMs = FIRST_RETRY_MS;
const TICK_MS = 30_000;
/** A state word the server may send (up, down, unknown, stale, …): short, lower-case. */
const STATE_WORD = /^[a-z][a-z0-9-]{0,31}$/;
const UPTIME_WINDOWS = ['24h', '7d', '30d', '90d'];
const AGENT_STATES = ['reporting', 'silent', 'stopped'];

type Data = Record<string, unknown>;

function readData(event: Event): Data | undefined {
  const data: unknown = (event as MessageEvent).data;
  if (typeof data !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Data) : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Elements whose data-<key> is exactly `value` (dataset comparison: the value never becomes a selector). */
function withData(root: ParentNode, key: 'target' | 'agent' | 'agentName' | 'incident' | 'count', value: string): HTMLElement[] {
  const attr = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return Array.from(root.querySelectorAll<HTMLElement>(`[data-${attr}]`)).filter((el) => el.dataset[key] === value);
}

function setField(root: ParentNode, field: string, value: string): void {
  const el = root.querySelector(`[data-field="${field}"]`);
  if (el) el.textContent = value;
}

function timeElement(iso: string, field?: string): HTMLTimeElement {
  const time = document.createElement('time');
  time.dateTime = iso;
  time.title = utcTime(iso);
  time.dataset.ago = '';
  if (field) time.dataset.field = field;
  time.textContent = agoOf(iso, Date.now()) || iso;
  return time;
}

function bumpCount(state: string | undefined, by: number): void {
  if (state === undefined) return;
  for (const el of withData(document, 'count', state)) {
    const n = Number(el.textContent);
    if (Number.isFinite(n)) el.textContent = String(Math.max(0, n + by));
  }
}

function onTarget(data: Data): void {
  const name = text(data.name);
  const state = text(data.state);
  if (name === undefined || state === undefined || !STATE_WORD.test(state)) return;
  const rows = withData(document, 'target', name);
  const before = rows[0]?.dataset.state;
  for (const row of rows) {
    row.dataset.state = state;
    const pill = row.querySelector(':scope > .t-head > .state');
    if (pill) {
      for (const c of Array.from(pill.classList)) if (c.startsWith('st-')) pill.classList.remove(c);
      pill.classList.add(stateClass(state));
      pill.textContent = state;
    }
    const since = row.querySelector(':scope > .t-head > .since');
    if (since && 'since' in data) {
      const at = text(data.since);
      if (at === undefined) since.textContent = 'no change seen';
      else since.replaceChildren('since ', timeElement(at));
    }
    const agents = Array.isArray(data.agents) ? (data.agents as unknown[]) : [];
    for (const agent of agents) {
      if (typeof agent !== 'object' || agent === null) continue;
      const a = agent as Data;
      const agentName = text(a.name);
      const agentState = text(a.state);
      if (agentName === undefined || agentState === undefined || !STATE_WORD.test(agentState)) continue;
      for (const item of withData(row, 'agentName', agentName)) {
        item.dataset.state = agentState;
        setField(item, 'agent-state', agentState);
      }
    }
  }
  if (before !== undefined && before !== state) {
    bumpCount(before, -1);
    bumpCount(state, 1);
  }
}

function onFigures(data: Data): void {
  const at = Date.parse(text(data.at) ?? '');
  if (!Array.isArray(data.targets) || Number.isNaN(at)) return;
  const byName = new Map<string, unknown[]>();
  for (const item of data.targets as unknown[]) if (Array.isArray(item) && typeof item[0] === 'string') byName.set(item[0], item);
  for (const row of document.querySelectorAll<HTMLElement>('[data-target]')) {
    const figures = row.dataset.target === undefined ? undefined : byName.get(row.dataset.target);
    if (!figures || row.dataset.incident !== undefined || row.dataset.delivery !== undefined) continue;
    const uptimes = row.querySelectorAll('.t-stats dd'); // the uptimes first, in UPTIME_WINDOWS order
    UPTIME_WINDOWS.forEach((_, i) => {
      const u = figures[1 + i];
      const dd = uptimes[i];
      if (dd && (u === null || typeof u === 'number')) dd.textContent = formatUptime(u);
    });
    const [hour, day] = [figures[5], figures[6]];
    for (const strip of row.querySelectorAll<HTMLElement>('.bars')) {
      const token = unitOf(strip).unit === 'hour' ? hour : day;
      if (typeof token === 'string' && /^[0-9/!-]*$/.test(token)) updateStrip(strip, at, token);
    }
  }
}

function onAgent(data: Data): void {
  const name = text(data.name);
  const state = text(data.state);
  if (name === undefined || state === undefined || !AGENT_STATES.includes(state)) return;
  for (const row of withData(document, 'agent', name)) {
    row.dataset.state = state;
    setField(row, 'state', state);
    const version = text(data.version);
    if (version !== undefined) setField(row, 'version', version);
    if (typeof data.targets === 'number' && Number.isSafeInteger(data.targets)) setField(row, 'targets', plural(data.targets, 'target'));
    const last = text(data.lastReportAt);
    const time = row.querySelector('[data-field="last-report"]');
    if (last !== undefined && time) time.replaceWith(timeElement(last, 'last-report'));
  }
}

/** Swap #incident-list for the server's fragment, keeping open timelines and the focus. */
function swapIncidents(markup: string): void {
  const old = document.getElementById('incident-list');
  if (!old || !markup.trimStart().startsWith('<div id="incident-list"')) return;
  const open = new Map<string, boolean>();
  for (const item of old.querySelectorAll<HTMLElement>('[data-incident]')) {
    const details = item.querySelector('details');
    if (details && item.dataset.incident !== undefined) open.set(item.dataset.incident, details.open);
  }
  const active = document.activeElement instanceof HTMLElement && old.contains(document.activeElement) ? document.activeElement : null;
  const focusedId = active?.closest<HTMLElement>('[data-incident]')?.dataset.incident;
  old.outerHTML = markup;
  const fresh = document.getElementById('incident-list');
  if (!fresh) return;
  for (const item of fresh.querySelectorAll<HTMLElement>('[data-incident]')) {
    const was = item.dataset.incident === undefined ? undefined : open.get(item.dataset.incident);
    const details = item.querySelector('details');
    if (details && was !== undefined) details.open = was;
  }
  if (!active) return;
  const again = focusedId === undefined ? undefined : withData(fresh, 'incident', focusedId)[0];
  const same = active.tagName === 'BUTTON' ? again?.querySelector<HTMLElement>('button') : undefined;
  const link = same ?? again?.querySelector<HTMLElement>('a, summary');
  if (link) link.focus();
  else {
    const heading = document.getElementById('incidents-h');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }
}

function setLive(state: 'connecting' | 'connected' | 'offline'): void {
  if (document.body) document.body.dataset.live = state;
}

function connect(): void {
  if (typeof EventSource === 'undefined') return;
  setLive('connecting');
  let source: EventSource;
  try {
    source = new EventSource(EVENTS_PATH);
  } catch {
    setLive('offline');
    return;
  }
  const on = (name: string, handle: (data: Data) => void): void =>
    source.addEventListener(name, (event) => {
      const data = readData(event);
      if (data) handle(data);
    });
  source.addEventListener('open', () => {
    retryMs = FIRST_RETRY_MS;
    setLive('connected'); // the server sends the incidents list as it is now with every new stream
  });
  source.addEventListener('error', () => {
    setLive('offline');
    if (source.readyState !== EventSource.CLOSED) return;
    // Refused for good (not signed in, or the mailer at its streams' cap, 503): try again later, less often each time.
    setTimeout(connect, retryMs);
    retryMs = Math.min(RETRY_MS, retryMs * 2);
  });
  on('target', onTarget);
  on('incidents', (data) => {
    if (typeof data.html === 'string') swapIncidents(data.html);
  });
  on('agent', onAgent);
  on('figures', onFigures);
}

function filterRows(value: string): void {
  const needle = value.trim().toLowerCase();
  let shown = 0;
  let total = 0;
  for (const row of document.querySelectorAll<HTMLElement>('.targets [data-target]')) {
    total++;
    const match = needle === '' || (row.dataset.target ?? '').toLowerCase().includes(needle);
    row.hidden = !match;
    if (match) shown++;
  }
  const note = document.getElementById('filter-note');
  if (note) note.textContent = needle === '' ? '' : `${shown} of ${total} on this page match. Press Enter to search all targets.`;
}

function tick(): void {
  const now = Date.now();
  for (const time of document.querySelectorAll<HTMLTimeElement>('time[data-ago]')) {
    const ago = agoOf(time.dateTime, now);
    if (ago && time.textContent !== ago) time.textContent = ago;
  }
}

function start(): void {
  const input = document.getElementById('filter');
  if (input instanceof HTMLInputElement) input.addEventListener('input', () => filterRows(input.value));
  startBars();
  setInterval(tick, TICK_MS);
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
