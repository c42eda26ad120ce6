/**
 * The one family of sanitisers for untrusted text on its way into a log
 * line, a header, an error message or a terminal:
 * - oneLine: control characters escaped (`\n`, `\x07`), so a line cannot be forged and nothing is lost;
 * - preview: oneLine, cut to a length;
 * - flatten: control characters (C0, DEL, C1, line and paragraph separators) and runs of white space made one
 *   space, trimmed, cut (headers, reasons, excerpts, error lines);
 * - printable: each control character (C0, DEL, C1) shown as a stand-in (terminal frames);
 * - cut: at most `max` characters, an ellipsis marking the cut.
 * Lengths count UTF-16 code units; a cut never splits a surrogate pair.
 */

/** Escape control characters so untrusted text cannot forge extra log lines. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A short, single-line, printable preview of untrusted text for log lines. */
export function preview(text: string, max = 80): string {
  return cut(oneLine(text), max + 1);
}

/** Control characters and white space collapsed to single spaces, trimmed, at most `max` characters. */
export function flatten(text: string, max = Number.POSITIVE_INFINITY): string {
  return cut(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim(), max);
}

/** Each control character (C0, DEL and C1, ESC included) replaced by `stand`. */
export function printable(text: string, stand = '?'): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, stand);
}

/** At most `max` characters: longer text keeps max-1 of them and ends in "…". */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
