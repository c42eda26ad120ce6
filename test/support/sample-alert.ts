/** A down alert as the channels get it, with fixed times, for payload tests. */
import type { QueuedAlert } from '../../mailer/queued-alert.ts';

export function sampleAlert(id: string, overrides: Partial<QueuedAlert['alert']> = {}): QueuedAlert {
  return {
    alert: { id, to: 'admin@work', message: 'The service is down!', status: 'down', target: 'http://insideweb:80/', reason: 'connection refused', time: '2024-05-01T10:00:00.000Z', ...overrides },
    line: 'To: admin@work Message: The service is down!',
    via: 'raw',
    receivedAt: Date.parse('2024-05-01T10:00:01.000Z'),
  };
}
