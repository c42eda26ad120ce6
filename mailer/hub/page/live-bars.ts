/// <reference lib="dom" />
/**
 * The status page's bar strips in the browser (live-client.ts starts this):
 * each strip (one element and one SVG, bar-strip.ts) is one tab stop whose
 * arrow keys (Home, End, Page Up/Down) move a highlighted bar and show its
 * label (format.ts barLabel) in #bar-tip (aria-live polite); the pointer over
 * a strip does the same for the bar under it. updateStrip puts a live figure
 * in a strip (its last bar, or the strip moved on to a new hour or day) and
 * redraws it: its paths and its label. Everything read from the page is
 * checked; nothing throws.
 */
import { barPaths, compressTokens, decodeBars, expandTokens, levelsOf, shiftCells, SLOT, stripLabel } from './bar-strip.ts';
import { barLabel } from './format.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SVG_NS = 'http://www.w3.org/2000/svg';

export function unitOf(strip: HTMLElement): { unit: 'day' | 'hour'; ms: number } {
  return strip.classList.contains('bars-hour') ? { unit: 'hour', ms: HOUR_MS } : { unit: 'day', ms: DAY_MS };
}

/** Redraw a strip from its data-bars: its paths (one a level), its label; the selection kept. */
export function drawStrip(strip: HTMLElement): void {
  const svg = strip.querySelector('svg');
  if (!svg) return;
  const cells = decodeBars(strip.dataset.bars ?? '');
  for (const path of Array.from(svg.querySelectorAll('path'))) path.remove();
  const sel = svg.querySelector('.sel');
  for (const [level, d] of barPaths(levelsOf(cells))) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('class', level);
    path.setAttribute('d', d);
    svg.insertBefore(path, sel);
  }
  strip.setAttribute('aria-label', stripLabel(cells, unitOf(strip).unit));
}

/** When a strip's first bar starts: its own data-from, else its list's (or article's) data-day-from / data-hour-from; NaN when neither reads. */
function startOf(strip: HTMLElement): number {
  const own = strip.dataset.from;
  if (own !== undefined) return Date.parse(own);
  const around = strip.closest<HTMLElement>('[data-day-from]');
  return Date.parse((unitOf(strip).unit === 'hour' ? around?.dataset.hourFrom : around?.dataset.dayFrom) ?? '');
}

/** The strip after a live figure: its last bar, or moved on to a new hour or day (then the strip has a data-from of its own). */
export function updateStrip(strip: HTMLElement, at: number, token: string): void {
  const from = startOf(strip);
  const next = shiftCells(expandTokens(strip.dataset.bars ?? ''), from, unitOf(strip).ms, at, token);
  if (!next) return;
  strip.dataset.bars = compressTokens(next.tokens);
  if (next.from !== from) strip.dataset.from = new Date(next.from).toISOString();
  drawStrip(strip);
  if (current?.strip === strip) selectBar(strip, current.index);
}

const tip = (): HTMLElement | null => document.getElementById('bar-tip');
/** The highlighted bar: its strip and index, and the SVG rect that shows it. */
let current: { strip: HTMLElement; index: number; mark: SVGRectElement } | undefined;

function barCount(strip: HTMLElement): number {
  return decodeBars(strip.dataset.bars ?? '').length;
}

function place(strip: HTMLElement, index: number, count: number): void {
  const box = tip();
  if (!box) return;
  const s = strip.getBoundingClientRect();
  const t = box.getBoundingClientRect();
  const centre = s.left + ((index + 0.5) * s.width) / Math.max(1, count);
  const left = Math.max(4, Math.min(window.innerWidth - t.width - 4, centre - t.width / 2));
  const top = s.top - t.height - 6 >= 4 ? s.top - t.height - 6 : s.bottom + 6;
  box.style.left = `${Math.round(left)}px`;
  box.style.top = `${Math.round(top)}px`;
}

function selectBar(strip: HTMLElement, index: number): void {
  const cells = decodeBars(strip.dataset.bars ?? '');
  const svg = strip.querySelector('svg');
  if (cells.length === 0 || !svg) return;
  const i = Math.max(0, Math.min(cells.length - 1, index));
  if (current && current.strip !== strip) clearBar();
  const mark = current?.mark ?? (document.createElementNS(SVG_NS, 'rect') as SVGRectElement);
  mark.setAttribute('class', 'sel');
  mark.setAttribute('x', String(i * SLOT));
  mark.setAttribute('y', '0');
  mark.setAttribute('width', String(SLOT - 1));
  mark.setAttribute('height', '1');
  if (!mark.isConnected) svg.append(mark);
  current = { strip, index: i, mark };
  strip.dataset.sel = String(i);
  const { unit, ms } = unitOf(strip);
  const from = startOf(strip);
  const cell = cells[i]!;
  const box = tip();
  if (box) box.textContent = Number.isNaN(from) ? '' : barLabel({ start: new Date(from + i * ms).toISOString(), ...cell }, unit);
  place(strip, i, cells.length);
}

function clearBar(): void {
  current?.mark.remove();
  current = undefined;
  const box = tip();
  if (box) box.textContent = '';
}

function stripOf(target: EventTarget | null): HTMLElement | null {
  if (!(target instanceof Element)) return null;
  const strip = target.closest('.bars');
  return strip instanceof HTMLElement ? strip : null;
}

function onKey(event: KeyboardEvent): void {
  const strip = stripOf(event.target);
  if (!strip) return;
  const count = barCount(strip);
  const at = Number(strip.dataset.sel ?? count - 1);
  const to: Record<string, number> = { ArrowLeft: at - 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowDown: at + 1, Home: 0, End: count - 1, PageUp: at - 7, PageDown: at + 7 };
  if (event.key === 'Escape') return clearBar();
  const next = to[event.key];
  if (next === undefined) return;
  event.preventDefault();
  selectBar(strip, next);
}

/** The pointer over a strip: the bar under it, as the arrow keys would. */
function onPointer(event: PointerEvent): void {
  const strip = stripOf(event.target);
  if (!strip) return;
  const r = strip.getBoundingClientRect();
  const count = barCount(strip);
  if (r.width > 0 && count > 0) selectBar(strip, Math.floor(((event.clientX - r.left) / r.width) * count));
}

export function startBars(): void {
  document.addEventListener('keydown', onKey);
  document.addEventListener('focusin', (event) => {
    const strip = stripOf(event.target);
    if (strip) selectBar(strip, Number(strip.dataset.sel ?? barCount(strip) - 1));
  });
  document.addEventListener('focusout', (event) => {
    if (stripOf(event.target)) clearBar();
  });
  document.addEventListener('pointermove', onPointer, { passive: true });
  document.addEventListener('pointerout', (event) => {
    const strip = stripOf(event.target);
    if (strip && strip !== document.activeElement && !(event.relatedTarget instanceof Node && strip.contains(event.relatedTarget))) clearBar();
  });
  window.addEventListener('scroll', () => current && place(current.strip, current.index, barCount(current.strip)), { passive: true });
}
