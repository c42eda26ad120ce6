/// <reference lib="dom" />
/**
 * The status page's script, for the browser (scripts/build.ts bundles it
 * into dist/mailer-page.js, an IIFE; the page works without it). It:
 *
 *   - listens to GET /api/v1/events (EventSource, which reconnects by itself; a
 *     stream the server closed for good is reopened after RETRY_MS) and sets
 *     body[data-live] to connecting, connected or offline (the CSS shows which);
 *   - `target` {name, state, since, agents}: updates the row whose data-target is
 *     that name (compared through dataset, never put into a selector): its
 *     data-state, state text, since, per-agent states, and the header counts;
 *     a target not on this page is ignored;
 *   - `incidents` {html}: the server's incidents section, rendered once for all
 *     streams when an incident changes and sent with every new stream (no
 *     request of the page's own: a refetch could fail and log): swaps
 *     #incidents for it, keeping which timelines were open and the focus;
 *   - `agent` (AgentStatusView): updates the row whose data-agent is that name;
 *   - filters the target rows on this page as #filter is typed in (the GET form
 *     still searches all targets on Enter);
 *   - makes each bar strip one tab stop whose arrow keys (Home, End) move a
 *     highlighted bar and show its label in #bar-tip (aria-live polite);
 *   - refreshes the relative times (time[data-ago]) every TICK_MS.
 *
 * Event data is untrusted text: it only ever goes into textContent, dataset
 * and comparisons; the incidents section is the server's own escaped markup
 * (page/html.ts), taken only when it starts as that section does. Every lookup is guarded: no console error, whatever the
 * page or the data.
 */
import { agoOf, plural, utcTime } from './format.ts';

const EVENTS_PATH = '/api/v1/events';
const RETRY_MS = 30_000;
const TICK_MS = 30_000;
const TARGET_STATES = ['up', 'down', 'unknown'];
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
  if (name === undefined || state === undefined || !TARGET_STATES.includes(state)) return;
  const rows = withData(document, 'target', name);
  const before = rows[0]?.dataset.state;
  for (const row of rows) {
    row.dataset.state = state;
    setField(row, 'state', state);
    const since = row.querySelector('[data-field="since"]');
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
      if (agentName === undefined || agentState === undefined || !TARGET_STATES.includes(agentState)) continue;
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

/** Swap #incidents for the server's fragment, keeping open timelines and the focus. */
function swapIncidents(markup: string): void {
  const old = document.getElementById('incidents');
  if (!old || !markup.trimStart().startsWith('<section id="incidents"')) return;
  const open = new Map<string, boolean>();
  for (const item of old.querySelectorAll<HTMLElement>('[data-incident]')) {
    const details = item.querySelector('details');
    if (details && item.dataset.incident !== undefined) open.set(item.dataset.incident, details.open);
  }
  const active = document.activeElement instanceof HTMLElement && old.contains(document.activeElement) ? document.activeElement : null;
  const focusedId = active?.closest<HTMLElement>('[data-incident]')?.dataset.incident;
  old.outerHTML = markup;
  const fresh = document.getElementById('incidents');
  if (!fresh) return;
  for (const item of fresh.querySelectorAll<HTMLElement>('[data-incident]')) {
    const was = item.dataset.incident === undefined ? undefined : open.get(item.dataset.incident);
    const details = item.querySelector('details');
    if (details && was !== undefined) details.open = was;
  }
  if (!active) return;
  const again = focusedId === undefined ? undefined : withData(fresh, 'incident', focusedId)[0];
  const link = again?.querySelector<HTMLElement>('a, summary');
  if (link) link.focus();
  else {
    const heading = fresh.querySelector<HTMLElement>('h2');
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
    setLive('connected'); // the server sends the incidents section as it is now with every new stream
  });
  source.addEventListener('error', () => {
    setLive('offline');
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RETRY_MS); // refused for good (e.g. not signed in): try again later
  });
  on('target', onTarget);
  on('incidents', (data) => {
    if (typeof data.html === 'string') swapIncidents(data.html);
  });
  on('agent', onAgent);
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

const tip = (): HTMLElement | null => document.getElementById('bar-tip');
let current: HTMLElement | undefined;

function place(bar: HTMLElement): void {
  const box = tip();
  if (!box) return;
  const r = bar.getBoundingClientRect();
  const t = box.getBoundingClientRect();
  const left = Math.max(4, Math.min(window.innerWidth - t.width - 4, r.left + r.width / 2 - t.width / 2));
  const top = r.top - t.height - 6 >= 4 ? r.top - t.height - 6 : r.bottom + 6;
  box.style.left = `${Math.round(left)}px`;
  box.style.top = `${Math.round(top)}px`;
}

function selectBar(strip: HTMLElement, index: number): void {
  const bars = Array.from(strip.querySelectorAll<HTMLElement>('.bar'));
  if (bars.length === 0) return;
  const i = Math.max(0, Math.min(bars.length - 1, index));
  current?.classList.remove('sel');
  current = bars[i];
  if (!current) return;
  current.classList.add('sel');
  strip.dataset.sel = String(i);
  const box = tip();
  if (box) box.textContent = current.getAttribute('aria-label') ?? '';
  place(current);
}

function clearBar(): void {
  current?.classList.remove('sel');
  current = undefined;
  const box = tip();
  if (box) box.textContent = '';
}

function stripOf(target: EventTarget | null): HTMLElement | null {
  return target instanceof HTMLElement && target.classList.contains('bars') ? target : null;
}

function onKey(event: KeyboardEvent): void {
  const strip = stripOf(event.target);
  if (!strip) return;
  const count = strip.querySelectorAll('.bar').length;
  const at = Number(strip.dataset.sel ?? count - 1);
  const to: Record<string, number> = { ArrowLeft: at - 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowDown: at + 1, Home: 0, End: count - 1, PageUp: at - 7, PageDown: at + 7 };
  if (event.key === 'Escape') return clearBar();
  const next = to[event.key];
  if (next === undefined) return;
  event.preventDefault();
  selectBar(strip, next);
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
  document.addEventListener('keydown', onKey);
  document.addEventListener('focusin', (event) => {
    const strip = stripOf(event.target);
    if (strip) selectBar(strip, Number(strip.dataset.sel ?? strip.querySelectorAll('.bar').length - 1));
  });
  document.addEventListener('focusout', (event) => {
    if (stripOf(event.target)) clearBar();
  });
  window.addEventListener('scroll', () => current && place(current), { passive: true });
  setInterval(tick, TICK_MS);
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
