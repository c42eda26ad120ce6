/**
 * What the channels say about an alert, written once: the subject and body of
 * an alert e-mail (SMTP, and the file channel's .eml), the nodemailer message
 * options both build the e-mail from (so the .eml file is the very message
 * SMTP would send), its Message-ID, and the JSON record of an alert (generic
 * webhooks, the file channel's .json), and the lines of a chat message
 * (Slack, Discord), each escaped by its channel for its own dialect.
 *
 * Alert data never reaches a header with a line break in it.
 */
import type { SendMailOptions } from 'nodemailer';
import type { AlertStatus } from '../../shared/alert.ts';
import type { QueuedAlert } from '../queued-alert.ts';
import { formatDurationCoarse } from '../../shared/duration.ts';
import { flatten } from '../../shared/text.ts';

export const DEFAULT_FROM = 'ch2 mailer <ch2-mailer@localhost>';

export interface EmailContent {
  subject: string;
  text: string;
}

/** When it happened: the agent's time, else when the mailer took the alert. */
export function alertTime(item: QueuedAlert): string {
  return item.alert.time ?? new Date(item.receivedAt).toISOString();
}

export function emailContent(item: QueuedAlert): EmailContent {
  const { alert } = item;
  const tag = alert.status === 'up' ? '[UP]' : alert.reminder !== undefined ? '[STILL DOWN]' : '[DOWN]';
  const subject = flatten(alert.target ? `${tag} ${alert.target} — ${alert.message}` : `${tag} ${alert.message}`, 250);
  const lines = [alert.message, ''];
  lines.push(`Status:   ${alert.status.toUpperCase()}`);
  if (alert.target) lines.push(`Target:   ${alert.target}`);
  if (alert.reason) lines.push(`Reason:   ${alert.reason}`);
  if (alert.downForMs !== undefined) lines.push(`Down for: ${formatDurationCoarse(alert.downForMs)}`);
  if (alert.reminder !== undefined) lines.push(`Reminder: ${alert.reminder}`);
  lines.push(`Time:     ${alertTime(item)}`);
  lines.push(`Alert id: ${alert.id}`);
  lines.push('', '-- ', 'ch2 mailer');
  return { subject, text: `${lines.join('\n')}\n` };
}

/**
 * The lines a chat message gives: what (the subject), then why, how long, when
 * and which alert. Each line is one line (alert data cannot start a line of
 * its own) and raw: the channel escapes it for its dialect.
 */
export function chatLines(item: QueuedAlert): MessageLines {
  const { alert } = item;
  const details: string[] = [];
  if (alert.reason) details.push(`Reason: ${flatten(alert.reason, 500)}`);
  if (alert.downForMs !== undefined) details.push(`Down for: ${formatDurationCoarse(alert.downForMs)}`);
  if (alert.reminder !== undefined) details.push(`Reminder: ${alert.reminder}`);
  details.push(`Time: ${flatten(alertTime(item), 100)}`);
  details.push(`Alert id: ${flatten(alert.id, 200)}`);
  return { title: emailContent(item).subject, details };
}

export interface MessageLines {
  title: string;
  details: string[];
}

/** How a target is named in a group message. */
function groupName(item: QueuedAlert): string {
  return flatten(item.alert.target ?? item.alert.to, 200);
}

/**
 * The lines of one message about several alerts (grouping): a title naming
 * every target, `[DOWN] 37 targets: web-1, web-2, … — The service is down!`,
 * then a line per alert (status, target, reason, id). One alert gives
 * chatLines.
 */
export function messageLines(items: readonly QueuedAlert[]): MessageLines {
  if (items.length === 1) return chatLines(items[0]!);
  const downs = items.filter((i) => i.alert.status === 'down').length;
  const ups = items.length - downs;
  const tag = ups === 0 ? '[DOWN]' : downs === 0 ? '[UP]' : `[${downs} DOWN, ${ups} UP]`;
  const names = [...new Set(items.filter((i) => i.alert.target !== undefined).map(groupName))];
  const messages = [...new Set(items.map((i) => i.alert.message))];
  const what = names.length > 0 ? `${names.length} target${names.length === 1 ? '' : 's'}: ${names.join(', ')}` : `${items.length} alerts`;
  const title = flatten(`${tag} ${what}${messages.length === 1 ? ` — ${messages[0]}` : ''}`, 20_000);
  const details = items.map((i) => {
    const { alert } = i;
    const why = alert.status === 'down' ? (alert.reason ?? alert.message) : alert.downForMs !== undefined ? `up after ${formatDurationCoarse(alert.downForMs)}` : alert.message;
    return `${alert.status.toUpperCase()} ${groupName(i)}: ${flatten(why, 300)} (alert ${flatten(alert.id, 100)})`;
  });
  return { title, details };
}

/**
 * The Message-ID of an alert's e-mail, from its id alone: a resent alert is
 * the same message. Characters an RFC 5322 msg-id cannot hold are %-encoded.
 */
export function messageIdFor(alertId: string): string {
  const left = [...alertId]
    .map((c) => (/^[A-Za-z0-9_-]$/.test(c) ? c : [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('');
  return `<${left || 'alert'}@ch2>`;
}

/**
 * The alert e-mail as nodemailer message options: From, To, Subject, Date (when
 * the mailer took the alert, the same on every resend), Message-ID, the
 * X-Ch2-* headers and the text body.
 */
export function emailMessage(item: QueuedAlert, from: string): SendMailOptions {
  const { subject, text } = emailContent(item);
  return {
    from,
    to: item.alert.to,
    subject,
    text,
    date: new Date(item.receivedAt),
    messageId: messageIdFor(item.alert.id),
    headers: { 'X-Ch2-Alert-Id': flatten(item.alert.id, 200), 'X-Ch2-Status': item.alert.status },
  };
}

/**
 * One e-mail for a group of alerts to one recipient (grouping): the group's
 * title as Subject, a line per alert in the body, a Message-ID from the
 * members' ids (the same group resent is the same message).
 */
export function groupEmailMessage(items: readonly QueuedAlert[], from: string, messageId: string): SendMailOptions {
  const { title, details } = messageLines(items);
  const first = items[0]!;
  return {
    from,
    to: first.alert.to,
    subject: flatten(title, 900),
    text: `${[title, '', ...details, '', '-- ', 'ch2 mailer'].join('\n')}\n`,
    date: new Date(first.receivedAt),
    messageId: messageIdFor(messageId),
    headers: { 'X-Ch2-Alert-Id': flatten(items.map((i) => i.alert.id).join(' '), 900), 'X-Ch2-Status': items.every((i) => i.alert.status === 'up') ? 'up' : 'down' },
  };
}

/**
 * An alert as JSON, for generic webhooks and the file channel's .json files.
 * Optional fields are left out when the alert has none.
 */
export interface AlertRecord {
  id: string;
  status: AlertStatus;
  to: string;
  message: string;
  target?: string;
  reason?: string;
  /** When the agent saw the change (ISO 8601); when the mailer took the alert if the sender gave none. */
  time: string;
  /** On an "up" alert: how long the outage lasted, ms; on a reminder, how long so far. */
  downForMs?: number;
  /** On a reminder: which one (1, 2, …). */
  reminder?: number;
  /** The agent's incident id: the same on a down, its reminders and its up. */
  incident?: string;
  /** When the mailer accepted the alert (ISO 8601). */
  receivedAt: string;
}

export function alertRecord(item: QueuedAlert): AlertRecord {
  const { alert } = item;
  // In this order: id, status, to, message, target, reason, time, downForMs, reminder, incident, receivedAt.
  return {
    id: alert.id,
    status: alert.status,
    to: alert.to,
    message: alert.message,
    ...(alert.target !== undefined ? { target: alert.target } : {}),
    ...(alert.reason !== undefined ? { reason: alert.reason } : {}),
    time: alertTime(item),
    ...(alert.downForMs !== undefined ? { downForMs: alert.downForMs } : {}),
    ...(alert.reminder !== undefined ? { reminder: alert.reminder } : {}),
    ...(alert.incident !== undefined ? { incident: alert.incident } : {}),
    receivedAt: new Date(item.receivedAt).toISOString(),
  };
}
