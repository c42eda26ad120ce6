/**
 * The status page's one escaping function and a tagged template over it.
 * Every string an alert or a report carried is untrusted (the raw protocol
 * has no auth), so nothing reaches the page or a badge unescaped:
 *
 *   escapeHtml(text)    & < > " ' to entities, safe in text and in quoted attribute values
 *                       (HTML and SVG/XML alike); lone surrogates and the control characters
 *                       XML forbids (and HTML calls parse errors) become U+FFFD
 *   html`<p>${x}</p>`   escapes every interpolation unless it is SafeHtml (another html`` or
 *                       trusted()); arrays are joined, null/undefined/false render nothing
 *   trusted(markup)     marks markup the code itself built as safe; never pass it outside data
 *
 * Attribute values must be quoted with " in the templates: escaping makes a
 * value unable to end its quotes, not an unquoted value unable to end itself.
 */

/** Markup that is already safe to place in a page. */
export class SafeHtml {
  readonly markup: string;
  constructor(markup: string) {
    this.markup = markup;
  }
  toString(): string {
    return this.markup;
  }
}

export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const SPECIAL = /[&<>"']/g;
// C0 controls but tab, LF and CR; DEL and the C1 controls; the noncharacters U+FFFE and U+FFFF.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]/g;

/** Text to markup that shows exactly it (in text or a "quoted" attribute value). */
export function escapeHtml(text: string): string {
  return text
    .toWellFormed()
    .replace(FORBIDDEN, '\uFFFD')
    .replace(SPECIAL, (c) => ENTITIES[c] ?? c);
}

/** Markup the code built itself (a constant, or already escaped): placed as is. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped unless already SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}
