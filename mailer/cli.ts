/**
 * The mailer's command line: commander flags, each mirrored by an env var,
 * validated at start (a bad value exits 2 with a one-line reason). Channel
 * kinds add their own flags through the registry.
 */
import { isIP } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RECIPIENT } from '../shared/alert.ts';
import { addLogOptions, ConfigError, durationArg, emailArg, emailListArg, envBoolean,
  choiceArg, envOption, fromArg, integerArg, type LogFormat, type LogLevel, parseOrExit, portArg } from '../shared/config.ts';
import type { GroupPolicy } from './delivery/channel-setup.ts';
import { DEFAULT_FROM } from './delivery/email-content.ts';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from './delivery/channels/http-post.ts';
import { notifyList } from './delivery/notify-arg.ts';
import { channelModuleOptions } from './delivery/channel-modules.ts';
import { RAW_MAX_BYTES } from '../shared/wire-raw.ts';
import { CHANNEL_KINDS } from './delivery/channels/registry.ts';
import { MAX_SILENCE_MS, MIN_SILENCE_MS, type SilenceSetting } from './hub/agent-silence.ts';
import { MAX_QUORUM } from './hub/ledger.ts';
import { DEFAULT_FORGET_AFTER_MS } from './hub/hub-operations.ts';
import { Allowlist } from './intake/allowlist.ts';
import { DEFAULT_MAX_CONNECTIONS_CAP, DEFAULT_MAX_CONNECTIONS_PER_PEER, defaultMaxConnections } from './intake/connection-limits.ts';

export interface MailerConfig {
  port: number;
  bind: string;
  allow: string[];
  /** --default-to: the recipient of alerts that name none and of agent-silence alarms (checked against allow). */
  defaultTo: string | undefined;
  maxBytes: number;
  idleTimeoutMs: number;
  maxRetryAgeMs: number;
  /** The durable store folder. */
  store: string;
  /** Move a corrupt store database aside and start empty. */
  storeRecover: boolean;
  /** Old flag or env names given: one warning line each at start. */
  deprecated: string[];
  /** Remember accepted alert ids this long, ms. */
  dedupeWindowMs: number;
  /** Bearer token the HTTP intake requires, if any. */
  token: string | undefined;
  /** Whether the book's raw text protocol is accepted: with --token only if --raw asks for it. */
  raw: boolean;
  /** Why raw is off (for the refusal lines), when it is. */
  rawOff: string | undefined;
  maxConnections: number;
  maxConnectionsPerPeer: number;
  /** Reports a second from one address (a burst of 4×). */
  reportRate: number;
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Parsed options, for the channel kinds (each sees only its own). */
  channelOptions: Record<string, unknown>;
  /** --from: sender of alert e-mails. */
  from: string;
  /** --webhook-timeout: one HTTP request to a receiver, in all. */
  httpTimeoutMs: number;
  notify: URL[];
  /** --config: the channels file. */
  configFile: string | undefined;
  group: GroupPolicy;
  /** --agent-silence: one length for every agent, 'off', or undefined: 3 × each agent's interval, at least 30s. */
  agentSilence: SilenceSetting;
  /** --forget-after: targets no agent has reported for this long are forgotten. */
  forgetAfterMs: number;
  /** --quorum: live agents that must see a target down for its down alert (hub/ledger.ts). */
  quorum: number;
  /** --status-page: the page, its API, badges and events on the port; off: none of them. */
  statusPage: boolean;
  /** --public-status: the read-only page and badges need no token. */
  publicStatus: boolean;
  /** --public-url: the URL browsers reach the page at; its host is one the Host check takes. */
  publicUrl: URL | undefined;
  /** Secrets of the mailer's own options (the channels' come from their plans). */
  secrets: string[];
}

export const DEFAULT_STORE = '/var/lib/ch2-mailer';

function storeArg(text: string): string {
  const value = text.trim();
  if (value === '') throw new InvalidArgumentError('Expected a folder path.');
  return value;
}

/** A ConfigError, not InvalidArgumentError: commander would echo the rejected value, a secret. */
function tokenArg(text: string): string {
  const value = text.trim();
  const from = process.env.MAILER_TOKEN === text ? "env 'MAILER_TOKEN'" : '--token';
  // An empty env var means unset (MAILER_TOKEN= in a compose file or `docker run -e MAILER_TOKEN=`): '' here, undefined in the config.
  if (value === '' && from !== '--token') return '';
  if (value.length < 16) throw new ConfigError(`${from}: expected a token of at least 16 characters (value not shown).`);
  if (!/^[\x21-\x7e]+$/.test(value)) throw new ConfigError(`${from}: expected a token of printable ASCII without spaces (value not shown).`);
  return value;
}

function configFileArg(text: string): string {
  const value = text.trim();
  if (value === '') throw new InvalidArgumentError('Expected a file path.');
  return value;
}

const silenceDuration = durationArg(MIN_SILENCE_MS, MAX_SILENCE_MS);
function agentSilenceArg(text: string): number | 'off' {
  return text.trim().toLowerCase() === 'off' ? 'off' : silenceDuration(text);
}

/** An http(s) URL with a host and no credentials, query or fragment (the page's address for browsers). */
function publicUrlArg(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidArgumentError('Expected a URL such as https://status.example.com/.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  if (url.hostname === '') throw new InvalidArgumentError('Expected a URL with a host name.');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') throw new InvalidArgumentError('Expected a URL without credentials, query or fragment.');
  return url;
}

function bindArg(text: string): string {
  const value = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(value) === 0) throw new InvalidArgumentError('Expected an IP address such as 0.0.0.0, 127.0.0.1 or ::.');
  return value;
}

export function buildProgram(): Command {
  const program = new Command('ch2-mailer')
    .description(
      'Takes alerts on one TCP port, in the book\'s raw text ("To: admin@work  Message: ...") or as ' +
        'HTTP POST /alerts with JSON, keeps each in a durable store, and delivers it through its channels ' +
        '(the log; SMTP e-mail, webhooks, Slack, Discord and files when configured), retrying each channel on its own. ' +
        'Subcommand "healthcheck" asks a running mailer on --port for /healthz and exits 0 or 1.',
    )
    .version('0.1.0', '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addOption(envOption('--port <port>', 'TCP port for both protocols', 'PORT', portArg).default(33333))
    .addOption(envOption('--bind <address>', 'IP address to listen on', 'BIND_ADDRESS', bindArg).default('0.0.0.0'))
    .addOption(envOption('--to <addresses>', 'recipients alerts may go to, comma-separated; *@domain allows a domain', 'ALERT_TO', emailListArg(true)).default([DEFAULT_RECIPIENT], DEFAULT_RECIPIENT))
    .addOption(envOption('--default-to <address>', 'recipient of JSON alerts that name none and of agent-silence alarms; one --to allows (default: the first --to address)', 'DEFAULT_TO', emailArg))
    .addOption(envOption('--max-bytes <n>', 'largest alert accepted, bytes', 'MAX_ALERT_BYTES', integerArg(256, 1024 * 1024)).default(RAW_MAX_BYTES))
    .addOption(envOption('--idle-timeout <duration>', 'close a connection idle this long', 'IDLE_TIMEOUT', durationArg(100, 600_000)).default(10_000, '10s'))
    .addOption(envOption('--max-retry-age <duration>', 'keep retrying a failing channel this long', 'MAX_RETRY_AGE', durationArg(1000, 30 * 86_400_000)).default(86_400_000, '24h'))
    .addOption(envOption('--store <dir>', 'durable store folder: accepted alerts, delivery state, dead letters', 'STORE_DIR', storeArg).default(undefined, DEFAULT_STORE))
    // The names before 0.2: still taken, with a warning at start (MailerConfig.deprecated).
    .addOption(envOption('--spool <dir>', 'old name of --store', 'SPOOL_DIR', storeArg).hideHelp())
    .addOption(envOption('--dedupe-window <duration>', 'an alert resent with a known id within this long is not sent again', 'DEDUPE_WINDOW', durationArg(60_000, 366 * 86_400_000)).default(7 * 86_400_000, '7d'))
    .addOption(new Option('--store-recover', 'move a corrupt store database aside and start empty (env STORE_RECOVER=1)'))
    .addOption(new Option('--spool-recover', 'old name of --store-recover').hideHelp())
    .addOption(envOption('--token <token>', 'bearer token required on the HTTP intake (POST and GET /alerts)', 'MAILER_TOKEN', tokenArg))
    .addOption(new Option('--raw', "accept the book's raw text protocol also with --token (it carries no token; env RAW_PROTOCOL=on)"))
    .addOption(new Option('--no-raw', "refuse the book's raw text protocol (env RAW_PROTOCOL=off); the default with --token"))
    .addOption(
      envOption('--max-connections <n>', 'connections open at once, in all', 'MAX_CONNECTIONS', integerArg(1, 1_000_000)).default(
        defaultMaxConnections(),
        `${DEFAULT_MAX_CONNECTIONS_CAP}, or half the open-file limit if lower`,
      ),
    )
    .addOption(
      envOption('--max-connections-per-peer <n>', 'connections open at once from one IP address', 'MAX_CONNECTIONS_PER_PEER', integerArg(1, 1_000_000)).default(
        DEFAULT_MAX_CONNECTIONS_PER_PEER,
      ),
    )
    .addOption(envOption('--report-rate <n>', 'agent reports a second from one IP address, after a burst of 4n (more: 429)', 'REPORT_RATE', integerArg(1, 100_000)).default(5));
  program
    .addOption(envOption('--notify <url>', 'a channel as a shoutrrr-style URL: slack://…, telegram://…, pagerduty://KEY, alertmanager://host:9093, … (repeatable, or a space-separated list)', 'NOTIFY_URLS').argParser(notifyList))
    .addOption(envOption('--config <file>', 'JSON or YAML file listing channels, each with its settings, match and grouping', 'CONFIG_FILE', configFileArg))
    .addOption(envOption('--from <address>', 'sender of alert e-mails (SMTP, .eml files)', 'ALERT_FROM', fromArg).default(DEFAULT_FROM))
    .addOption(envOption('--webhook-timeout <duration>', 'time one HTTP request to a receiver (webhook, Slack, Telegram, …) may take in all', 'WEBHOOK_TIMEOUT', durationArg(100, 120_000)).default(DEFAULT_WEBHOOK_TIMEOUT_MS, '10s'))
    .addOption(envOption('--group-wait <duration>', 'alerts for one recipient within this long go as one message on grouping channels (smtp, chat); 0 turns grouping off', 'GROUP_WAIT', durationArg(0, 3_600_000)).default(1000, '1s'))
    .addOption(envOption('--group-interval <duration>', 'after a grouped message, the next for that recipient waits at least this long', 'GROUP_INTERVAL', durationArg(100, 86_400_000)).default(10_000, '10s'))
    .addOption(
      envOption(
        '--agent-silence <duration>',
        "alert when an agent has not reported for this long (from 1s; default 3 × its report interval, at least 30s); 'off' never",
        'AGENT_SILENCE',
        agentSilenceArg,
      ),
    )
    .addOption(envOption('--quorum <k>', 'a target is down when at least k of the live agents watching it see it down (one down alert, naming them)', 'QUORUM', integerArg(1, MAX_QUORUM)).default(1))
    .addOption(envOption('--forget-after <duration>', 'forget targets no agent has reported for this long', 'FORGET_AFTER', durationArg(60_000, 3650 * 86_400_000)).default(DEFAULT_FORGET_AFTER_MS, '7d'))
    .addOption(envOption('--status-page <on|off>', 'the status page, its JSON API, badges and live events on the port (GET /)', 'STATUS_PAGE', choiceArg(['on', 'off'] as const)).default('on'))
    .addOption(new Option('--public-status', 'with --token, let anyone read the status page, its API and badges (changes still need the token; env PUBLIC_STATUS=1)'))
    .addOption(envOption('--public-url <url>', "the URL browsers open the status page at (behind a proxy or under a DNS name): its host is taken in the Host header (DNS rebinding guard)", 'PUBLIC_URL', publicUrlArg));
  for (const kind of CHANNEL_KINDS) for (const option of kind.options?.() ?? []) program.addOption(option);
  for (const option of channelModuleOptions()) program.addOption(option);
  return addLogOptions(program);
}

export function configFromOptions(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): MailerConfig {
  const token = (opts.token as string | undefined) || undefined;
  const asked = typeof opts.raw === 'boolean' ? opts.raw : envBoolean(env, 'RAW_PROTOCOL');
  const raw = asked ?? token === undefined;
  const rawOff = raw ? undefined : asked === false ? '--no-raw or RAW_PROTOCOL=off' : '--token is set and --raw is not';
  const deprecated: string[] = [];
  if (opts.spool !== undefined) deprecated.push(opts.store === undefined ? '--spool (SPOOL_DIR) is now --store (STORE_DIR); the old name will go.' : '--spool (SPOOL_DIR) is ignored: --store (STORE_DIR) is given.');
  if (opts.spoolRecover === true || envBoolean(env, 'SPOOL_RECOVER') !== undefined) deprecated.push('--spool-recover (SPOOL_RECOVER) is now --store-recover (STORE_RECOVER); the old name will go.');
  const store = opts.store ?? opts.spool ?? DEFAULT_STORE;
  if (typeof store !== 'string') throw new ConfigError('--store must be a folder.');
  const allow = opts.to as string[];
  const defaultTo = (opts.defaultTo as string | undefined) || undefined;
  try {
    new Allowlist(allow, defaultTo);
  } catch (err) {
    throw new ConfigError(`--default-to (DEFAULT_TO): ${(err as Error).message}; add it, or its *@domain, to --to (ALERT_TO).`);
  }
  return {
    port: opts.port as number,
    bind: opts.bind as string,
    allow,
    defaultTo,
    maxBytes: opts.maxBytes as number,
    idleTimeoutMs: opts.idleTimeout as number,
    maxRetryAgeMs: opts.maxRetryAge as number,
    store,
    storeRecover: opts.storeRecover === true || opts.spoolRecover === true || (envBoolean(env, 'STORE_RECOVER') ?? envBoolean(env, 'SPOOL_RECOVER') ?? false),
    deprecated,
    dedupeWindowMs: opts.dedupeWindow as number,
    token,
    raw,
    rawOff,
    maxConnections: opts.maxConnections as number,
    maxConnectionsPerPeer: opts.maxConnectionsPerPeer as number,
    reportRate: opts.reportRate as number,
    logFormat: opts.logFormat as LogFormat,
    logLevel: opts.logLevel as LogLevel,
    channelOptions: opts,
    from: opts.from as string,
    httpTimeoutMs: opts.webhookTimeout as number,
    notify: (opts.notify as URL[] | undefined) ?? [],
    configFile: (opts.config as string | undefined) || undefined,
    group: { waitMs: opts.groupWait as number, intervalMs: opts.groupInterval as number },
    agentSilence: opts.agentSilence as SilenceSetting,
    quorum: opts.quorum as number,
    forgetAfterMs: opts.forgetAfter as number,
    statusPage: opts.statusPage !== 'off',
    publicStatus: opts.publicStatus === true || (envBoolean(env, 'PUBLIC_STATUS') ?? false),
    publicUrl: opts.publicUrl as URL | undefined,
    secrets: [...(token ? [token] : []), ...((opts.notify as URL[] | undefined) ?? []).map((u) => u.href)],
  };
}

export function parseMailerArgs(argv: readonly string[]): MailerConfig {
  return parseOrExit(buildProgram(), argv, configFromOptions);
}
