/** What every mail-writing channel says about an alert: subject tags, body lines, the JSON record. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertRecord, emailContent } from '../../mailer/delivery/email-content.ts';
import type { QueuedAlert } from '../../mailer/queued-alert.ts';
import type { Alert } from '../../shared/alert.ts';

function item(alert: Partial<Alert>): QueuedAlert {
  const full: Alert = { id: 'e-1', to: 'admin@work', message: 'The service is down!', status: 'down', target: 'http://insideweb:80/', ...alert };
  return { alert: full, line: 'To: admin@work Message: The service is down!', via: 'json', receivedAt: Date.parse('2026-11-29T12:00:00Z') };
}

test('the subject names the status and the target: down, still down (reminder) and up', () => {
  assert.equal(emailContent(item({})).subject, '[DOWN] http://insideweb:80/ — The service is down!');
  assert.equal(emailContent(item({ reminder: 2, downForMs: 65_000 })).subject, '[STILL DOWN] http://insideweb:80/ — The service is down!');
  assert.equal(emailContent(item({ status: 'up', message: 'The service is back up.' })).subject, '[UP] http://insideweb:80/ — The service is back up.');
});

test('the body gives time, target, reason, the outage so far and the reminder number', () => {
  const { text } = emailContent(item({ reason: 'connection refused', reminder: 3, downForMs: 125_000, time: '2026-11-29T12:02:05Z' }));
  assert.match(text, /^Target:\s+http:\/\/insideweb:80\/$/m);
  assert.match(text, /^Reason:\s+connection refused$/m);
  assert.match(text, /^Down for:\s+2m 5s$/m);
  assert.match(text, /^Reminder:\s+3$/m);
  assert.match(text, /^Time:\s+2026-11-29T12:02:05Z$/m);
});

test('line breaks in alert data never reach the subject', () => {
  const { subject } = emailContent(item({ target: 'http://x/\r\nBcc: evil@example.com', message: 'down\nX-Injected: 1' }));
  assert.doesNotMatch(subject, /[\r\n]/);
});

test('the JSON record carries the reminder number', () => {
  assert.equal(alertRecord(item({ reminder: 1 })).reminder, 1);
  assert.equal('reminder' in alertRecord(item({})), false);
});
