/** ch2-agent: entry point of the agent image. */
import { hostPort } from '../shared/legacy-links.ts';
import { createLogger } from '../shared/logger.ts';
import { exitOnSignals } from '../shared/shutdown.ts';
import { parseAgentArgs } from './cli.ts';
import { createMailerClient } from './mailer-client.ts';
import { Monitor } from './monitor.ts';
import { Notifier } from './notifier.ts';
import { createHttpProbe } from './probe.ts';
import { createLineView } from './view.ts';

const config = parseAgentArgs(process.argv.slice(2));
const log = await createLogger({ name: 'ch2-agent', format: config.logFormat, level: config.logLevel });
const view = createLineView(log);

let monitor: Monitor | undefined;
const notifier = new Notifier({
  send: createMailerClient({ mailer: config.mailer, protocol: config.mailerProtocol }),
  log,
  onDelivered(alert) {
    view.alertDelivered(alert);
    if (config.exitOnAlert && alert.status === 'down') {
      log.info('Alert delivered; exiting (--exit-on-alert).');
      void monitor?.stop().finally(() => process.exit(0));
    }
  },
});

monitor = new Monitor({
  config,
  notifier,
  view,
  probe: (onServerClose) =>
    createHttpProbe({
      url: config.target,
      timeoutMs: config.timeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      intervalMs: config.intervalMs,
      expectStatus: config.expectStatus,
      onServerClose,
    }),
});

exitOnSignals(async () => {
  notifier.close();
  if (notifier.pending > 0) log.warn(`Stopping with ${notifier.pending} alert(s) not yet delivered to the mailer.`);
  await monitor?.stop();
});

view.started(config.target.href, hostPort(config.mailer), config.mailerProtocol);
void monitor.start();
