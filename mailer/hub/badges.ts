/**
 * Status badges: shields.io's "flat" style SVG (a grey label, a coloured
 * value, 20 px high, Verdana 11 px with a 1 px shadow), made here with no
 * dependency. Text widths come from a per-character table of Verdana's
 * advance widths (em fractions) — near enough for the box to fit its text;
 * textLength makes the renderer fit the text exactly. Text is escaped
 * (page/html.ts escapeHtml, valid XML too), the SVG has role="img", an
 * aria-label and a <title>, so it reads the same without the picture.
 *
 *   renderBadge(label, value, color)    the SVG text
 *   statusBadge(state)                  {label "status", value up|down|unknown|stale, colour}
 *   uptimeBadge(window, uptime|null)    {label "uptime 24h", value "99.95 %"}
 *   responseBadge(p50|null)             {label "response", value "≤ 250 ms"}
 *   unknownTargetBadge(label)           {label, value "unknown target"}: the hub knows no such target
 *   badgeEtag(svg)                      a strong ETag: "<sha1 of the body, base64url>"
 */
import { createHash } from 'node:crypto';
import type { ShownState } from './model.ts';
import { formatResponse, formatUptime } from './page/format.ts';
import { escapeHtml } from './page/html.ts';
import type { UptimeWindow } from './status-view.ts';

export type BadgeColor = 'green' | 'yellow' | 'orange' | 'red' | 'grey';

export interface Badge {
  label: string;
  value: string;
  color: BadgeColor;
}

/** shields.io's colours for these names (grey as its lightgrey: the label is already #555). */
const FILL: Record<BadgeColor, string> = { green: '#4c1', yellow: '#dfb317', orange: '#fe7d37', red: '#e05d44', grey: '#9f9f9f' };

// Verdana advance widths, in em, for ' ' .. '~' (U+0020–U+007E).
// prettier-ignore
const ASCII_EM = [
  0.352, 0.394, 0.459, 0.818, 0.636, 1.076, 0.727, 0.269, 0.454, 0.454, 0.636, 0.818, 0.364, 0.454, 0.364, 0.454, // space ! " # $ % & ' ( ) * + , - . /
  0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.454, 0.454, 0.818, 0.818, 0.818, 0.545, // 0-9 : ; < = > ?
  1.0, 0.684, 0.686, 0.698, 0.771, 0.632, 0.575, 0.775, 0.751, 0.421, 0.455, 0.693, 0.557, 0.843, 0.748, 0.787, // @ A-O
  0.603, 0.787, 0.695, 0.684, 0.616, 0.732, 0.684, 0.989, 0.685, 0.615, 0.685, 0.454, 0.454, 0.454, 0.818, 0.636, // P-Z [ \ ] ^ _
  0.636, 0.601, 0.623, 0.521, 0.623, 0.596, 0.352, 0.623, 0.633, 0.274, 0.344, 0.592, 0.274, 0.973, 0.633, 0.607, // ` a-o
  0.623, 0.623, 0.427, 0.521, 0.394, 0.633, 0.592, 0.818, 0.592, 0.592, 0.525, 0.635, 0.454, 0.635, 0.818, // p-z { | } ~
];
const FONT_PX = 11;
/** Anything else: a digit's width, or a full em for the wide East Asian ranges. */
const OTHER_EM = 0.636;
const WIDE_EM = 1.0;
const PAD = 6;

function charEm(code: number): number {
  if (code >= 0x20 && code <= 0x7e) return ASCII_EM[code - 0x20] ?? OTHER_EM;
  if ((code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xff00 && code <= 0xff60) || code >= 0x1f300) return WIDE_EM;
  return OTHER_EM;
}

/** The text's width in px at Verdana 11 px (rounded up). */
export function textWidth(text: string): number {
  let em = 0;
  for (const ch of text) em += charEm(ch.codePointAt(0) ?? 0);
  return Math.ceil(em * FONT_PX);
}

/** A shields-style flat badge: `label` on grey, `value` on `color`. */
export function renderBadge(label: string, value: string, color: BadgeColor): string {
  const lw = textWidth(label) + 2 * PAD;
  const vw = textWidth(value) + 2 * PAD;
  const w = lw + vw;
  const l = escapeHtml(label);
  const v = escapeHtml(value);
  const both = escapeHtml(`${label}: ${value}`);
  const fill = FILL[color] ?? FILL.grey;
  // Text is drawn at 10× (font-size 110, scale(.1)) as shields does, for sub-pixel placement.
  const text = (x: number, width: number, t: string): string =>
    `<text aria-hidden="true" x="${x * 10}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${(width - 2 * PAD) * 10}">${t}</text>` +
    `<text x="${x * 10}" y="140" transform="scale(.1)" fill="#fff" textLength="${(width - 2 * PAD) * 10}">${t}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${both}"><title>${both}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${fill}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">` +
    text(lw / 2, lw, l) +
    text(lw + vw / 2, vw, v) +
    `</g></svg>`
  );
}

export function statusBadge(state: ShownState): Badge {
  const color: BadgeColor = state === 'up' ? 'green' : state === 'down' ? 'red' : 'grey';
  return { label: 'status', value: state, color };
}

export function uptimeBadge(window: UptimeWindow, uptime: number | null): Badge {
  const value = formatUptime(uptime);
  if (uptime === null || !Number.isFinite(uptime)) return { label: `uptime ${window}`, value, color: 'grey' };
  const color: BadgeColor = uptime >= 0.999 ? 'green' : uptime >= 0.99 ? 'yellow' : uptime >= 0.95 ? 'orange' : 'red';
  return { label: `uptime ${window}`, value, color };
}

/** The 24 h median response time (a latency bucket's upper bound). */
export function responseBadge(p50: number | null): Badge {
  const value = formatResponse(p50);
  if (p50 === null || Number.isNaN(p50)) return { label: 'response', value, color: 'grey' };
  const color: BadgeColor = p50 <= 250 ? 'green' : p50 <= 1000 ? 'yellow' : p50 <= 2500 ? 'orange' : 'red';
  return { label: 'response', value, color };
}

/** A badge of a target the hub does not know (a typo in its name, or not reported yet): its label, "unknown target", grey. */
export function unknownTargetBadge(label: string): Badge {
  return { label, value: 'unknown target', color: 'grey' };
}

/** A strong ETag for a badge's body: a quoted base64url SHA-1. */
export function badgeEtag(svg: string): string {
  return `"${createHash('sha1').update(svg).digest('base64url')}"`;
}
