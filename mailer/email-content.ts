/**
 * Subject and body of an alert e-mail, for every channel that writes mail.
 * Alert data never reaches a header with a line break in it.
 */
import type { QueuedAlert } from './queued-alert.ts';

export interface EmailContent {
  subject: string;
  text: string;
}

/** Collapse CR, LF and other control characters so a value is safe in a header. */
export function headerSafe(text: string, max = 200): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatDurationMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

export function emailContent(item: QueuedAlert): EmailContent {
  const { alert } = item;
  const tag = alert.status === 'up' ? '[UP]' : '[DOWN]';
  const subject = headerSafe(alert.target ? `${tag} ${alert.target} — ${alert.message}` : `${tag} ${alert.message}`, 250);
  const lines = [alert.message, ''];
  lines.push(`Status:   ${alert.status.toUpperCase()}`);
  if (alert.target) lines.push(`Target:   ${alert.target}`);
  if (alert.reason) lines.push(`Reason:   ${alert.reason}`);
  if (alert.downForMs !== undefined) lines.push(`Down for: ${formatDurationMs(alert.downForMs)}`);
  lines.push(`Time:     ${alert.time ?? new Date(item.receivedAt).toISOString()}`);
  lines.push(`Alert id: ${alert.id}`);
  lines.push('', '-- ', 'ch2 mailer');
  return { subject, text: `${lines.join('\n')}\n` };
}
