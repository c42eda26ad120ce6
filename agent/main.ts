/** ch2-agent: entry point of the agent image. Wires the monitors, the notifier, the reporter, the view and the metrics. */
import { randomUUID } from 'node:crypto';
import { hostPort } from '../shared/legacy-links.ts';
import { createLogger, type Logger, makeScrubber } from '../shared/logger.ts';
import { exitOnSignals } from '../shared/shutdown.ts';
import { parseAgentArgs } from './cli.ts';
import { secretsOf } from './target.ts';
import { shardLine } from './shard.ts';
import { type AgentEvents, fanOut, type TargetInfo } from './events.ts';
import { createMailerClient } from './alerting/mailer-client.ts';
import { FAILOVER_CONNECT_MS, failoverLink, failoverReports, MailerChoice } from './alerting/mailer-failover.ts';
import type { MailerEndpoint } from './alerting/mailer-transport.ts';
import { createReportClient } from './alerting/report-client.ts';
import { mailerNames } from './mailer-address.ts';
import { clearTokenMailers } from './mailer-settings.ts';
import { checkMailerToken } from './alerting/token-check.ts';
import { GOODBYE_MS, Reporter } from './alerting/reporter.ts';
import { AGENT_VERSION } from './defaults.ts';
import { budgetLine, descriptorBudget } from './checks/descriptors.ts';
import { oneLineReason } from './checks/probe.ts';
import { Monitor } from './incidents/monitor.ts';
import { Notifier } from './alerting/notifier.ts';
import { createSkipWarning } from './output/skip-warning.ts';
import { createLineView, type View } from './output/view.ts';

const config = await parseAgentArgs(process.argv.slice(2));
const baseLog = await createLogger({
  name: 'ch2-agent',
  format: config.logFormat,
  level: config.logLevel,
  secrets: [...(config.mailerToken ? [config.mailerToken] : []), ...secretsOf(config.targets)],
});
// A shard's share is several targets' worth of lines, named, even when it is one (or none).
const several = config.targets.length > 1 || config.shard !== undefined;
// auto: the table with several targets on a terminal, unless the log lines are JSON (for a collector).
const useTable = config.view === 'table' || (config.view === 'auto' && several && process.stdout.isTTY === true && config.logFormat === 'plain');

let notifier: Notifier | undefined;
const table = useTable ? await createTable() : undefined;
const view: View = table ?? createLineView(baseLog, { several });
// The table redraws over stderr: its frame keeps the last warning or error in view.
const log: Logger = table ? keepingProblemsOn(baseLog, table) : baseLog;

// How many checks the open-file limit lets run at once (all of them, unless it is low).
const budget = descriptorBudget(config.targets);
const listeners: AgentEvents[] = [view, createSkipWarning(log, budget)];
let stopMetrics: (() => Promise<void>) | undefined;
let downCount = 0;
if (config.metricsPort !== undefined) {
  const [{ Metrics }, { startMetricsServer }] = await Promise.all([import('./output/metrics.ts'), import('./output/metrics-server.ts')]);
  const metrics = new Metrics({ pending: () => notifier?.pending ?? 0 });
  listeners.push(metrics.events);
  try {
    const server = await startMetricsServer({
      port: config.metricsPort,
      metrics,
      health: () => ({ ok: true, targets: config.targets.length, down: downCount, pendingAlerts: notifier?.pending ?? 0 }),
      log,
    });
    stopMetrics = () => server.close();
    // With --metrics-port 0 the bound port is news to the user.
    if (config.metricsPort === 0) log.info(`Metrics on port ${server.port}.`, { event: 'metrics', port: server.port });
  } catch (err) {
    process.stderr.write(`ch2-agent: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
// The mailers, in the order alerts and reports try them (mailer-failover.ts); an https:// one trusts --mailer-ca.
const mailers: MailerEndpoint[] = config.mailers.map((m) => ({ ...m, ...(m.tls && config.mailerCa ? config.mailerCa : {}) }));
const mailerChoice = new MailerChoice(mailers, log);
const mailersNamed = mailerNames(mailers);
const token = config.mailerToken ? { token: config.mailerToken } : {};
// This run of the agent: named in its reports and its alerts, so the mailer tells a restart from a second agent.
const instance = randomUUID();
// Reports to the mailer (the hub): json protocol only; the book's raw protocol has no place for them.
const reporter =
  config.mailerProtocol === 'json' && config.reportEveryMs > 0
    ? new Reporter({
        agent: { name: config.agentName, instance, version: AGENT_VERSION },
        intervalMs: config.reportEveryMs,
        targets: config.targets.map((t) => t.name),
        send: failoverReports(mailers.map((mailer) => createReportClient({ mailer, ...token })), mailerChoice),
        log,
        mailer: mailersNamed,
      })
    : undefined;
if (reporter) listeners.push(reporter.events);
listeners.push({
  transition(_target, t) {
    if (t.kind === 'down') downCount += 1;
    else if (t.kind === 'up') downCount -= 1;
  },
});
// A listener's bug must not stop the checks or the alerts: logged once per event, then counted silently.
const failedEvents = new Set<string>();
const events = fanOut(listeners, (event, err) => {
  if (failedEvents.has(event)) return;
  failedEvents.add(event);
  log.error(`Internal error in a ${event} listener (the checks and alerts go on; later ones of this event are not shown): ${oneLineReason(err instanceof Error ? err.message : String(err))}`, { event: 'listener-error', listener: event });
});

let monitor: Monitor | undefined;
const connect = mailers.length > 1 ? { connectTimeoutMs: FAILOVER_CONNECT_MS } : {};
const link = failoverLink(mailers.map((mailer) => createMailerClient({ mailer, protocol: config.mailerProtocol, log, ...token, ...connect })), mailerChoice);
notifier = new Notifier({
  send: link.send,
  batchLimit: link.batchLimit,
  inFlight: link.inFlight,
  log,
  maxPending: config.maxPending,
  events,
  onDelivered(alert) {
    if (config.exitOnAlert && alert.status === 'down') {
      log.info('Alert delivered; exiting (--exit-on-alert).');
      events.stopped();
      void Promise.all([monitor?.stop(), reporter?.stop()]).finally(() => process.exit(0));
    }
  },
});

const pending = notifier;
monitor = new Monitor({ targets: config.targets, enqueue: (alert) => pending.enqueue(alert), events, origin: { agent: config.agentName, instance }, budget });

// Past the grace, or at a second signal, the exit line names the steps still pending.
exitOnSignals(
  async (step) => {
    pending.close();
    events.stopped();
    if (pending.pending > 0) log.warn(`Stopping with ${pending.pending} alert(s) not yet delivered to the mailer.`);
    // The monitors stop first (no check counts after the goodbye report's snapshot).
    await Promise.all([
      monitor && step('the checks', monitor.stop()),
      stopMetrics && step('the metrics server', stopMetrics()),
      reporter && step('the goodbye report', reporter.stop()),
    ]);
  },
  { graceMs: GOODBYE_MS + 200, report: (line) => log.error(line, { event: 'shutdown' }) },
);

const infos: TargetInfo[] = config.targets.map((t) => ({ name: t.name, url: t.url.href, intervalMs: t.intervalMs }));
events.started(infos, mailersNamed, config.mailerProtocol);
if (config.shard) {
  const { replica, replicas, copies } = config.shard;
  log.info(shardLine(config.shard, config.targets.length, config.allTargets), { event: 'shard', replica, replicas, copies, targets: config.targets.length, of: config.allTargets });
}
const insecure = config.targets.filter((t) => t.insecure === true).map((t) => t.name);
if (insecure.length > 0) {
  log.warn(`TLS certificates are not verified (insecure: true) for ${insecure.join(', ')}: anyone on the way can pose as ${insecure.length > 1 ? 'these sites' : 'this site'}.`, { event: 'insecure', targets: insecure });
}
const clear = clearTokenMailers(config).map((m) => hostPort(m));
if (clear.length > 0) {
  log.warn(`The mailer token goes in clear to ${clear.join(', ')}, beyond this host: give the mailer as https://host:port (with --mailer-ca for a private CA), so that no one on the way reads it.`, { event: 'clear-token', mailers: clear });
}
if (budget.capped) {
  log.warn(budgetLine(budget, config.targets.length), { event: 'descriptors', openFiles: budget.openFiles, checksAtOnce: budget.checksAtOnce, wanted: budget.wanted });
}
monitor.start();
// Whether the mailer takes our token: one line if not (the agent goes on; the alerts wait). The raw protocol has none.
if (config.mailerProtocol === 'json') {
  for (const mailer of mailers) void checkMailerToken({ mailer, token: config.mailerToken || undefined, log, several: mailers.length > 1 });
}
reporter?.start();
if (reporter) log.debug(`Reports every ${config.reportEveryMs}ms to ${mailersNamed} as ${JSON.stringify(config.agentName)}.`, { event: 'reports' });

async function createTable(): Promise<View & { problem(text: string): void }> {
  const { createTableView } = await import('./output/table-view.ts');
  return createTableView({ out: process.stdout, log: baseLog, pendingAlerts: () => notifier?.pending ?? 0 });
}

function keepingProblemsOn(base: Logger, shown: { problem(text: string): void }): Logger {
  const scrub = makeScrubber([...(config.mailerToken ? [config.mailerToken] : []), ...secretsOf(config.targets)]);
  return {
    ...base,
    warn(msg, fields) {
      base.warn(msg, fields);
      shown.problem(scrub(msg));
    },
    error(msg, fields) {
      base.error(msg, fields);
      shown.problem(scrub(msg));
    },
  };
}
