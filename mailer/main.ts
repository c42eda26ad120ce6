/** ch2-mailer: entry point of the mailer image. */
import type { AddressInfo } from 'node:net';
import { createLogger } from '../shared/logger.ts';
import { exitOnSignals } from '../shared/shutdown.ts';
import { Admissions } from './intake/admission.ts';
import { Allowlist } from './intake/allowlist.ts';
import { CHANNEL_KINDS } from './delivery/channels/registry.ts';
import { parseMailerArgs } from './cli.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { healthcheck, mailerArgsOfPid1 } from './healthcheck.ts';
import { createHttpIntake } from './intake/http-intake.ts';
import { createIntake } from './intake/intake.ts';
import { SpoolOutbox } from './store/spool.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'healthcheck') {
  // The image's HEALTHCHECK cannot see `docker run` arguments: take the running mailer's own.
  const target = parseMailerArgs(argv.length > 1 ? argv.slice(1) : mailerArgsOfPid1());
  process.exit(await healthcheck(target.port, target.bind));
}
const config = parseMailerArgs(argv);

const log = await createLogger({ name: 'ch2-mailer', format: config.logFormat, level: config.logLevel, secrets: config.secrets });
const channels = CHANNEL_KINDS.flatMap((kind) => kind.create(config.channelOptions, { log }));
const spool = await SpoolOutbox.open({ dir: config.spool, log }).catch((err: NodeJS.ErrnoException) => {
  log.error(`Cannot open the spool ${config.spool}: ${err.code === 'EACCES' || err.code === 'EROFS' ? 'not writable' : err.message} (--spool / SPOOL_DIR).`);
  process.exit(1);
});
const outbox = spool.outbox;
const dispatcher = new Dispatcher({ channels, outbox, log, maxRetryAgeMs: config.maxRetryAgeMs });
const admissions = new Admissions({ allowlist: new Allowlist(config.allow), outbox, dispatcher, log });
const started = Date.now();
const http = createHttpIntake({
  maxBytes: config.maxBytes,
  idleTimeoutMs: config.idleTimeoutMs,
  admissions,
  outbox,
  token: config.token,
  log,
  health: () => ({
    uptimeMs: Date.now() - started,
    channels: dispatcher.channelNames,
    deliveriesActive: dispatcher.active,
    pending: outbox.unfinished().length,
    spoolWriteErrors: outbox.writeErrors,
  }),
});
const intake = createIntake({
  http,
  admissions,
  log,
  maxBytes: config.maxBytes,
  idleTimeoutMs: config.idleTimeoutMs,
  raw: config.rawOff === undefined ? true : { off: config.rawOff },
  maxConnections: config.maxConnections,
  maxConnectionsPerPeer: config.maxConnectionsPerPeer,
});

exitOnSignals(async () => {
  intake.close();
  const active = dispatcher.active;
  if (active > 0) log.warn(`Stopping with ${active} deliveries unfinished.`);
  await dispatcher.close();
  await outbox.close();
});

// Only an error before 'listening' is fatal; later ones (EMFILE on accept) the intake logs and survives.
const cannotListen = (err: NodeJS.ErrnoException): void => {
  log.error(`Cannot listen on ${config.bind}:${config.port}: ${err.code === 'EADDRINUSE' ? 'port already in use' : err.message}`);
  process.exit(1);
};
intake.once('error', cannotListen);
intake.listen({ port: config.port, host: config.bind }, () => {
  intake.off('error', cannotListen);
  const port = (intake.address() as AddressInfo).port;
  log.info('CH2 Example Mailer has started.', { event: 'start', port, channels: dispatcher.channelNames });
  // With --port 0 the bound port is news to the user, so it is logged at info.
  log[config.port === 0 ? 'info' : 'debug'](`Listening on ${config.bind}:${port}; channels: ${dispatcher.channelNames.join(', ')}; recipients: ${config.allow.join(', ')}`);
  if (config.token === undefined) {
    log.warn(
      `No --token (MAILER_TOKEN): anyone who can reach port ${port} can post alerts${config.raw ? ' (HTTP and raw text)' : ''}; GET /alerts answers loopback peers only.`,
      { event: 'insecure' },
    );
  } else if (config.raw) {
    log.warn(`--raw with --token: the book's raw text protocol carries no token, so anyone who can reach port ${port} can post raw alerts.`, {
      event: 'insecure',
    });
  }
  const { resumed, remembered, quarantined } = spool.summary;
  if (resumed + remembered + quarantined > 0) {
    log.info(`Spool ${config.spool}: resuming ${resumed} unfinished alert(s); ${remembered} delivered alert id(s) remembered.`, {
      event: 'resume',
      resumed,
      remembered,
      quarantined,
    });
  }
  dispatcher.resume(outbox.unfinished());
});
