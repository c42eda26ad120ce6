/**
 * The Prometheus text exposition format's small pieces (version 0.0.4): a
 * family's HELP and TYPE lines, label values and HELP text escaped, sample
 * values in Go float syntax. metrics.ts renders its families with them.
 */
/** A family's HELP and TYPE lines. */
export function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
/** A family of one sample without labels: its HELP and TYPE lines and the sample. */
export function single(name: string, type: string, help: string, value: number): string {
  return `${header(name, type, help)}${name} ${formatNumber(value)}\n`;
}
/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.toWellFormed().replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A sample value: Go float syntax, with +Inf, -Inf and NaN spelled as Prometheus expects. */
export function formatNumber(n: number): string {
  if (Number.isFinite(n)) return String(n);
  if (Number.isNaN(n)) return 'NaN';
  return n > 0 ? '+Inf' : '-Inf';
}
