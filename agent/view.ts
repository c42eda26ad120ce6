/**
 * What the agent prints. The book's agent prints "System up." for every good
 * check; ours also says when a check fails and what it told the mailer.
 */
import type { Alert } from '../shared/alert.ts';
import type { Logger } from '../shared/logger.ts';
import type { CheckResult } from './probe.ts';

export interface View {
  started(target: string, mailer: string, protocol: string): void;
  check(target: string, result: CheckResult): void;
  alertQueued(alert: Alert): void;
  alertDelivered(alert: Alert): void;
}

export function createLineView(log: Logger): View {
  return {
    started(target, mailer, protocol) {
      log.debug(`Watching ${target}; alerts go to ${mailer} (${protocol})`, { event: 'start', target, mailer, protocol });
    },
    check(target, result) {
      const latencyMs = Math.round(result.latencyMs);
      if (result.ok) log.info('System up.', { event: 'check', target, ok: true, status: result.status, latencyMs });
      else log.info(`System down: ${result.reason}.`, { event: 'check', target, ok: false, reason: result.reason, latencyMs });
    },
    alertQueued(alert) {
      log.info(`Alert: ${alert.target ?? ''} is ${alert.status}${alert.reason ? ` (${alert.reason})` : ''}; telling the mailer.`, {
        event: 'alert',
        id: alert.id,
        status: alert.status,
        target: alert.target,
        reason: alert.reason,
        downForMs: alert.downForMs,
      });
    },
    alertDelivered(alert) {
      log.debug(`Alert ${alert.id} delivered.`, { event: 'delivered', id: alert.id });
    },
  };
}
