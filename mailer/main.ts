/** ch2-mailer: entry point of the mailer image. */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { ConfigError, exitConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { exitOnSignals } from '../shared/shutdown.ts';
import { Admissions } from './intake/admission.ts';
import { Allowlist } from './intake/allowlist.ts';
import { CHANNEL_KINDS } from './delivery/channels/registry.ts';
import { parseMailerArgs } from './cli.ts';
import { DestinationOwner } from './delivery/destination-owner.ts';
import { Dispatcher } from './delivery/dispatcher.ts';
import { NotifyLog } from './delivery/notify-log.ts';
import { loadChannelConfig } from './delivery/channel-config.ts';
import { createRoutes, planChannels, planSecrets } from './delivery/channel-setup.ts';
import { loadChannelModules, moduleChannelsReady } from './delivery/channel-modules.ts';
import { thrownText } from './delivery/channels/module-channel.ts';
import { healthcheck, healthcheckTarget, LISTENING_FILE, writeListening } from './healthcheck.ts';
import { createHttpServer } from './http/http-server.ts';
import { HostCheck } from './http/host-check.ts';
import { ConnectionLimits } from './intake/connection-limits.ts';
import { createIntake } from './intake/intake.ts';
import { AgentSilence, silenceWarning } from './hub/agent-silence.ts';
import { AgentRegistry } from './hub/agents.ts';
import { Access } from './hub/access.ts';
import { watchedOutbox } from './delivery/delivery-watch.ts';
import { EventStreams } from './hub/event-stream.ts';
import { StatusHub } from './hub/hub.ts';
import { HubOperations } from './hub/hub-operations.ts';
import { formatDurationFlag } from '../shared/duration.ts';
import { PageRoutes } from './hub/hub-routes.ts';
import { StatusViews } from './hub/hub-view.ts';
import { renderIncidentList } from './hub/page/render-page.ts';
import { openStore } from './store/open-store.ts';
import type { OutboxRecord } from './store/outbox.ts';
import type { StoreLocation } from './store/store-url.ts';
import { StoreOpenError } from './store/store.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'healthcheck') {
  // The image's HEALTHCHECK cannot see `docker run` arguments: the running mailer wrote its port into its store.
  const own = parseMailerArgs(argv.slice(1));
  const target = healthcheckTarget({ port: own.port, bind: own.bind, store: own.store, ...(own.tls ? { tls: true } : {}) });
  process.exit(await healthcheck(target.port, target.bind, 2000, target.tls === true));
}
const config = parseMailerArgs(argv);

// Every channel from flags, --notify and --config, checked before anything starts: a bad one exits 2 with one line.
const plans = await (async () => {
  try {
    const opts = config.channelOptions;
    const loaded = await loadChannelModules((opts.channelModule as string[] | undefined) ?? [], (opts.channelSetting as string[] | undefined) ?? [], process.env, opts.moduleTimeout as number);
    const entries = config.configFile ? await loadChannelConfig(config.configFile) : [];
    // A module the config file uses, with no settings of its own from flags or env vars, runs only as the file says.
    const modules = loaded.filter((m) => Object.keys(m.settings as object).length > 0 || !entries.some((e) => e.kind === m.kind.kind));
    return planChannels({ kinds: CHANNEL_KINDS, opts, modules, notify: config.notify, entries, group: config.group });
  } catch (err) {
    if (err instanceof ConfigError) exitConfig('ch2-mailer', err.message);
    throw err;
  }
})();
// batch: a line per alert, written once per event-loop turn (the mailer writes nothing to stdout or stderr itself).
const log = await createLogger({ name: 'ch2-mailer', format: config.logFormat, level: config.logLevel, secrets: [...config.secrets, ...planSecrets(plans)], batch: true });
for (const line of config.deprecated) log.warn(line, { event: 'deprecated' });
// A channel module's stray promise (a fire-and-forget call nobody awaits) must not stop the alerting:
// everything acknowledged is in the store and every send has its deadline, so the mailer logs it and goes on.
process.on('unhandledRejection', (reason) => {
  log.error(`Unhandled rejection (a channel module's stray promise, or a bug): ${thrownText(reason)}; the mailer goes on.`, { event: 'unhandled-rejection' });
});
const routes = createRoutes(plans, { log, from: config.from, httpTimeoutMs: config.httpTimeoutMs });
// A channel module whose create threw, rejected or hung: one line (the logger scrubs its secrets), exit 2.
await moduleChannelsReady(routes.map((r) => r.channel)).catch((err: Error) => {
  log.error(err.message);
  process.exit(2);
});
const where: StoreLocation = config.storeUrl ?? { kind: 'folder', dir: config.store };
// SQLite in its folder, or Postgres (waited for while it cannot be reached).
const opened = await openStore(where, { log, recover: config.storeRecover, dedupeWindowMs: config.dedupeWindowMs }).catch((err: Error) => {
  // In use, corrupt, refused, or not a usable folder: one line with the way out, exit 2 (a configuration problem).
  log.error(err instanceof StoreOpenError ? err.message : `Cannot open the store ${config.storeUrl?.label ?? config.store}: ${err.message} (--store / ${config.storeUrl ? 'STORE_URL' : 'STORE_DIR'}).`);
  process.exit(2);
});
const store = opened.store;
if (opened.summary.movedAside) log.warn(`Store ${opened.label}: the corrupt database was moved to ${opened.summary.movedAside}; starting empty (--store-recover).`);
// The hub: agents, targets, buckets, incidents and silences, as the store kept them.
const snapshot = await store.hubLoad();
// The dispatcher records each channel's progress in the store; the hub tells the page which incident changed.
// The nflog (what each channel was told of each open incident) as the store kept it.
const notifyLog = new NotifyLog(await store.notifyLog());
// Several mailers on one database: each grouping or rate-limited destination is sent to by one of them (its owner).
const owner = store.destinations ? new DestinationOwner(store.destinations()) : undefined;
const dispatcher = new Dispatcher({ routes, outbox: watchedOutbox(store, (incident) => hub.delivered(incident)), log, maxRetryAgeMs: config.maxRetryAgeMs, notifyLog, ...(store.toldOf ? { toldOf: (incident: string) => store.toldOf!(incident) } : {}), ...(owner ? { owner } : {}) });
const allowlist = new Allowlist(config.allow, config.defaultTo);
const admissions = new Admissions({ allowlist, store, dispatcher, log });
const registry = new AgentRegistry({ log });
// A silent agent is alerted on like any alert.
const silence = new AgentSilence({ registry, admissions, recipient: allowlist.defaultRecipient, setting: config.agentSilence, log, lastReports: store.lastReports?.bind(store), onSilent: (record) => {
  hub.agentChanged(record);
  hub.dropAgent(record.name, `agent ${record.name} has not reported within its silence`);
} });
const hub: StatusHub = new StatusHub({ store, snapshot, registry, silence, log, quorum: config.quorum, sharedStore: store.toldOf !== undefined });
silence.watchRestored();
admissions.observe(hub);
hub.bind(admissions);
// Silences mute at send time: the dispatcher asks the hub, which tells it when silences or incidents change.
dispatcher.usePolicy(hub);
const views = new StatusViews(hub, store);
// The ledger's operations by hand, and --forget-after's sweep (like the senders' sweep: every minute).
const ops = new HubOperations(hub, store, () => hub.admissions);
const forgetSweep = setInterval(() => {
  for (const name of ops.forgetQuiet(config.forgetAfterMs, Date.now())) log.info(`target ${name} forgotten: no agent reported it for ${formatDurationFlag(config.forgetAfterMs)}`, { event: 'target-forgotten', target: name });
}, 60_000).unref();
const access = new Access(config.token, config.publicStatus);
const limits = new ConnectionLimits({ maxConnections: config.maxConnections, maxPerPeer: config.maxConnectionsPerPeer, log });
const streams = new EventStreams({ hub, access, limits, render: async (audience, controls) => renderIncidentList(await views.pageIncidents(audience), Date.now(), controls) });
const started = Date.now();
const http = createHttpServer({
  maxBytes: config.maxBytes,
  idleTimeoutMs: config.idleTimeoutMs,
  admissions,
  store,
  token: config.token,
  log,
  hub,
  reportsPerSecond: config.reportRate,
  hosts: new HostCheck(config.publicUrl),
  page: config.statusPage ? (readBody) => new PageRoutes({ hub, views, streams, access, log, readBody, ops }) : undefined,
  health: () => {
    const kept = store.health();
    return {
      ...(kept.degraded ? { status: 'degraded', reason: `cannot write the store: ${kept.reason ?? 'unknown error'}` } : {}),
      uptimeMs: Date.now() - started,
      channels: dispatcher.channelNames,
      // Whether the book's raw text is taken: a raw agent that was reset asks, to tell a refusal from a crash.
      raw: config.rawOff === undefined,
      deliveriesActive: dispatcher.active,
      pending: kept.pending,
      storeCommits: kept.commits,
      storeWriteErrors: kept.writeErrors,
      // Postgres: claims held now, and taken over and lost since start (several mailers on one database).
      ...(kept.claims ? { storeClaims: kept.claims } : {}),
      // Postgres: the live mailers this one sees, and the deliveries it handed to their destination's owner since start.
      ...(store.destinations ? { storeOwners: store.destinations().counts() } : {}),
    };
  },
});
// --tls-cert: TLS connections, once their handshake is done (within --idle-timeout), are the HTTP server's.
const tlsServer = config.tls ? createTlsServer({ cert: config.tls.cert, key: config.tls.key, handshakeTimeout: config.idleTimeoutMs }, (socket) => http.emit('connection', socket)) : undefined;
// With a listener, node leaves the socket open: a handshake that failed or timed out (--idle-timeout) is closed here.
tlsServer?.on('tlsClientError', (err, socket) => {
  log.debug(`TLS handshake failed: ${err.message}`);
  socket.destroy();
});
const intake = createIntake({
  ...(tlsServer ? { tls: tlsServer } : {}),
  http,
  admissions,
  log,
  maxBytes: config.maxBytes,
  idleTimeoutMs: config.idleTimeoutMs,
  raw: config.rawOff === undefined ? true : { off: config.rawOff },
  limits,
});

// Past the grace, or at a second signal, the exit line names the step still pending.
exitOnSignals(
  async (step) => {
    silence.close();
    hub.close();
    clearInterval(forgetSweep);
    streams.close();
    intake.close();
    const active = dispatcher.active;
    if (active > 0) log.warn(`Stopping with ${active} deliveries unfinished.`);
    await step("the channels (deliveries in flight, each channel's close)", dispatcher.close());
    await step('the store (its last commit)', store.close());
  },
  { graceMs: 500, report: (line) => log.error(line, { event: 'shutdown' }) },
);

// Only an error before 'listening' is fatal; later ones (EMFILE on accept) the intake logs and survives.
const cannotListen = (err: NodeJS.ErrnoException): void => {
  log.error(`Cannot listen on ${config.bind}:${config.port}: ${err.code === 'EADDRINUSE' ? 'port already in use' : err.message}`);
  process.exit(1);
};
intake.once('error', cannotListen);
intake.listen({ port: config.port, host: config.bind }, () => {
  intake.off('error', cannotListen);
  const port = (intake.address() as AddressInfo).port;
  // Where `ch2-mailer healthcheck` (the image's HEALTHCHECK, without the container's arguments) asks.
  try {
    // With Postgres the folder holds only this file: where there is none (outside the image), the healthcheck asks --port.
    if (config.storeUrl === undefined || existsSync(config.store)) writeListening(config.store, { port, bind: config.bind, ...(config.tls ? { tls: true } : {}) });
  } catch (err) {
    log.warn(`Cannot write ${config.store}/${LISTENING_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): \`ch2-mailer healthcheck\` asks the port its own --port/PORT says.`, { event: 'healthcheck-file' });
  }
  log.info('CH2 Example Mailer has started.', { event: 'start', port, channels: dispatcher.channelNames });
  // The book's line stays as it is; the channels come on the next one.
  log.info(`Channels: ${dispatcher.channelNames.join(', ')}.`, { event: 'channels', channels: dispatcher.channelNames });
  if (config.statusPage) {
    const host = config.bind === '0.0.0.0' || config.bind === '::' ? 'localhost' : config.bind.includes(':') ? `[${config.bind}]` : config.bind;
    const who = config.token === undefined ? 'readable by anyone who can reach the port, changes from loopback only' : config.publicStatus ? 'read-only for anyone (--public-status); changes need the token' : 'needs the token';
    log.info(`Status page: ${config.publicUrl?.href ?? `${config.tls ? 'https' : 'http'}://${host}:${port}/`} (${who}; in a container, the host port it is published on)`, { event: 'status-page', port });
  }
  // With --port 0 the bound port is news to the user, so it is logged at info.
  log[config.port === 0 ? 'info' : 'debug'](`Listening on ${config.bind}:${port}; channels: ${dispatcher.channelNames.join(', ')}; recipients: ${config.allow.join(', ')}`);
  const shortSilence = silenceWarning(config.agentSilence);
  if (shortSilence !== undefined) log.warn(shortSilence, { event: 'agent-silence-short' });
  if (allowlist.defaultRecipient === undefined) {
    log.warn(
      `No default recipient: --to (${config.allow.join(', ')}) has no plain address and no --default-to (DEFAULT_TO) is given, so ${config.agentSilence === 'off' ? '' : 'agent-silence alarms and '}JSON alerts that name no recipient cannot be sent.`,
      { event: 'no-default-recipient' },
    );
  }
  if (config.token === undefined) {
    log.warn(
      `No --token (MAILER_TOKEN): anyone who can reach port ${port} can post alerts${config.raw ? ' (HTTP and raw text)' : ''} and reports; GET /alerts and the hub's changes (silences) answer loopback peers only.`,
      { event: 'insecure' },
    );
  } else if (config.raw) {
    log.warn(`--raw with --token: the book's raw text protocol carries no token, so anyone who can reach port ${port} can post raw alerts.`, {
      event: 'insecure',
    });
  }
  const { resumed, remembered } = opened.summary;
  if (resumed + remembered > 0) {
    log.info(`Store ${opened.label}: resuming ${resumed} unfinished alert(s); ${remembered} delivered alert id(s) remembered.`, {
      event: 'resume',
      resumed,
      remembered,
    });
  }
  dispatcher.resume(store.unfinished());
  // Postgres: work whose claim lapsed (a mailer gone) is resumed here; work another mailer took over is stopped.
  // What is taken over (from a mailer gone, or handed over) is delivered here, never handed on (destination-owner.ts).
  const adopted = (records: OutboxRecord[], only: ReadonlyMap<string, readonly string[]>): void => {
    for (const r of records) owner?.received(r.item.alert.id, only.get(r.item.alert.id) ?? Object.keys(r.channels));
    dispatcher.resume(records, only);
  };
  store.watchClaims?.({ adopted, lost: (ids) => dispatcher.forget(ids), silences: (rows) => hub.silences.sync(rows, Date.now()), hub: (changes) => hub.synced(changes) });
});
