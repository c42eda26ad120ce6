/**
 * The values of the report flags (cli.ts): --report-every, a duration the
 * mailer accepts as a report's intervalMs (1s to 1d) or "off"; --agent-name,
 * checked by the very rule the mailer reads a report's agent.name with
 * (shared/wire-report.ts validateReport: 1 to 128 printable ASCII characters,
 * not starting with a space), and by default the hostname (a container's
 * own), made to fit that rule.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { durationArg } from '../shared/config.ts';
import { validateReport } from '../shared/wire-report.ts';
import { REPORT_EVERY_LIMITS } from './defaults.ts';

const OFF = new Set(['off', 'none', 'never', '0']);
const reportEveryDuration = durationArg(...REPORT_EVERY_LIMITS);

/** --report-every: a duration from 1s to 1d, or off (0). */
export function reportEveryArg(text: string): number {
  if (OFF.has(text.trim().toLowerCase())) return 0;
  try {
    return reportEveryDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message.replace(/\.$/, '')}, or "off".`);
  }
}

/** Whether the mailer would take `name` as a report's agent.name. */
export function agentNameOk(name: string): boolean {
  return validateReport({ v: 1, agent: { name, instance: '00000000', version: '' }, sentAt: new Date(0).toISOString(), intervalMs: 1000, targets: [] }).ok;
}

/** --agent-name: trimmed, 1 to 128 printable ASCII characters. */
export function agentNameArg(text: string): string {
  const name = text.trim();
  if (!agentNameOk(name)) throw new InvalidArgumentError('Expected a name of 1 to 128 printable ASCII characters.');
  return name;
}

/** The hostname, fitted to the rule (any other character a "-"); "ch2-agent" if none is left. */
export function defaultAgentName(host: string = hostname()): string {
  const name = host.replace(/[^\x21-\x7e]/g, '-').slice(0, 128);
  return agentNameOk(name) ? name : 'ch2-agent';
}
