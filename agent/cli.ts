/**
 * The agent's command line: commander flags, each mirrored by an env var,
 * validated at start (a bad value exits 2 with a one-line reason). Defaults
 * are the book's: watch insideweb:80 once a second, tell insidemailer:33333.
 *
 * Targets come from `--target` (repeatable; TARGET: a comma or space
 * separated list), or from `--config FILE` (config-file.ts), or else from the
 * insideweb link. The other check and alert flags are the defaults of every
 * target; a config file's `defaults` and per-target keys override them.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DOWN_MESSAGE, DEFAULT_RECIPIENT, DEFAULT_UP_MESSAGE } from '../shared/alert.ts';
import {
  addLogOptions,
  choiceArg,
  ConfigError,
  durationArg,
  emailListArg,
  envBoolean,
  envOption,
  exitConfig,
  integerArg,
  parseOrExit,
  portArg,
  secretOption,
} from '../shared/config.ts';
import { type Env, hostPort, type LinkEndpoint, linkEndpoint } from '../shared/legacy-links.ts';
import type { LogFormat, LogLevel } from '../shared/logger.ts';
import { FIELD_MAX } from '../shared/wire-json.ts';
import { loadConfigFile } from './config-file.ts';
import { parseMailerList } from './mailer-address.ts';
import { mailerSettings, type MailerSettings, tokenArg } from './mailer-settings.ts';
import { DEFAULT_EXPECT_STATUS } from './expect-status.ts';
import { messageProblem } from './incidents/incident-alerts.ts';
import { MAILER_PROTOCOLS, type MailerProtocol } from './alerting/mailer-client.ts';
import { agentNameArg, defaultAgentName, reportEveryArg } from './report-settings.ts';
import { AGENT_VERSION, DEFAULT_MAX_PENDING, DEFAULT_REPORT_EVERY_MS, MAILER_ALIAS, MAILER_PORT, WEB_ALIAS, WEB_PORT } from './defaults.ts';
import { caFileValue, expectStatusValue, remindEveryValue } from './setting-values.ts';
import { MAX_REPLICAS, parseShard, type Shard, shardOf, shareOf } from './shard.ts';
import { DEFAULT_SETTINGS, forTarget, HTTP_ONLY_SETTINGS, LIMITS, nameFromUrlText, normalise, type TargetSettings, type TargetSpec, targetKind, targetUrlProblem } from './target.ts';

export const VIEWS = ['auto', 'lines', 'table'] as const;
export type ViewChoice = (typeof VIEWS)[number];

export interface AgentConfig extends MailerSettings {
  /** Every target, in the order given; names are unique. */
  targets: TargetSpec[];
  /** Where the targets came from, for the start line. */
  configFile?: string;
  /** --shard (and --copies): `targets` is this replica's share of `allTargets` targets. */
  shard?: Shard;
  /** How many targets the flags or the config file list (more than `targets.length` on a shard). */
  allTargets: number;
  exitOnAlert: boolean;
  view: ViewChoice;
  /** Port of the Prometheus /metrics and /healthz server; undefined: off. */
  metricsPort?: number;
  /** Most alerts held while the mailer is away. */
  maxPending: number;
  /** Time between reports to the mailer, ms; 0: off. Only with the json protocol. */
  reportEveryMs: number;
  /** This agent's name in its reports. */
  agentName: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
  // The first target, for callers that watch one:
  /** The first target's URL. */
  target: URL;
  /** The first target's name (the link alias form when the link variables gave the address). */
  targetName: string;
  /** The first target's interval. */
  intervalMs: number;
  /** The first target's first recipient. */
  to: string;
}

/** A commander parser from a setting-values.ts parser. */
function arg<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(`${(err as Error).message.replace(/\.$/, '')}.`);
    }
  };
}

/** One target URL: http://, https://, tcp://host:port or dns://name?…. */
export function parseTargetUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new InvalidArgumentError(`Expected a URL (http://…, https://…, tcp://host:port or dns://name?type=A), not "${text.trim().slice(0, 200)}".`);
  }
  const problem = targetUrlProblem(url);
  if (problem) throw new InvalidArgumentError(`${problem[0]!.toUpperCase()}${problem.slice(1)}: "${text.trim().slice(0, 200)}".`);
  return url;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function nonEmptyText(text: string): string {
  if (text.trim().length === 0) throw new InvalidArgumentError('Expected some text.');
  if (text.length > FIELD_MAX) throw new InvalidArgumentError(`Longer than ${FIELD_MAX} characters.`);
  return text;
}

export function buildProgram(): Command {
  const [intervalMin, intervalMax] = LIMITS.intervalMs;
  const program = new Command('ch2-agent')
    .description(
      'Watches web sites (and TCP ports) and tells the ch2 mailer when one goes down and when it comes back. ' +
        'Defaults follow "Docker in Action" ch2: http://insideweb:80/ once a second, mailer at insidemailer:33333; ' +
        'the legacy --link variables INSIDEWEB_PORT_80_TCP_* and INSIDEMAILER_PORT_33333_TCP_* are used when set.',
    )
    .version(AGENT_VERSION, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addOption(
      new Option('--target <url>', 'a URL to check: http(s)://…, tcp://host:port or dns://name?type=A&server=host:53&expect=…; repeat for several (env: a comma or space separated list) (default: from the insideweb link, else http://insideweb:80/)')
        .env('TARGET')
        .argParser(collect),
    )
    .addOption(envOption('--config <file>', 'JSON or YAML file listing the targets, each with its own settings (instead of --target)', 'CONFIG_FILE', (t) => nonEmptyText(t).trim()))
    .addOption(envOption('--mailer <address>', 'mailer host:port, http://host:port or https://host:port, or a comma-separated list of them to fail over along (default: from the insidemailer link, else insidemailer:33333)', 'MAILER_URL', parseMailerList))
    .addOption(envOption('--mailer-protocol <protocol>', "json: POST /alerts; raw: the book's text, for the book's mailer", 'MAILER_PROTOCOL', choiceArg(MAILER_PROTOCOLS)).default('json'))
    .addOption(secretOption('--mailer-token <token>', 'bearer token for the mailer (json protocol); never logged', 'MAILER_TOKEN', tokenArg))
    .addOption(envOption('--mailer-ca <pem>', 'https:// mailers: trust the CAs in this PEM file too (beside the public ones)', 'MAILER_CA', arg(caFileValue)))
    .addOption(envOption('--interval <duration>', 'time between checks (500ms, 1s, 2m)', 'INTERVAL', durationArg(intervalMin, intervalMax)).default(DEFAULT_SETTINGS.intervalMs, '1s'))
    .addOption(envOption('--timeout <duration>', 'time a check may take in all', 'TIMEOUT', durationArg(...LIMITS.timeoutMs)).default(DEFAULT_SETTINGS.timeoutMs, '2s'))
    .addOption(envOption('--connect-timeout <duration>', 'time a TCP connect may take', 'CONNECT_TIMEOUT', durationArg(...LIMITS.connectTimeoutMs)).default(DEFAULT_SETTINGS.connectTimeoutMs, '1s'))
    .addOption(envOption('--expect-status <list>', 'statuses that mean up: 2xx, 200, 200-299, comma-separated', 'EXPECT_STATUS', arg((t) => expectStatusValue(t).expectStatusSpec)).default(DEFAULT_EXPECT_STATUS))
    .addOption(envOption('--body-contains <text>', 'up only if the body contains this text', 'BODY_CONTAINS', nonEmptyText))
    .addOption(envOption('--body-not-contains <text>', 'up only if the body does not contain this text', 'BODY_NOT_CONTAINS', nonEmptyText))
    .addOption(envOption('--max-response-time <duration>', 'down if a check takes longer than this', 'MAX_RESPONSE_TIME', durationArg(...LIMITS.maxResponseTimeMs)))
    .addOption(envOption('--ca-file <pem>', 'https: trust the CAs in this PEM file too (beside the public ones), for internal sites', 'CA_FILE', arg(caFileValue)))
    .addOption(envOption('--cert-expiry <duration>', 'https: down while a certificate of the chain expires within this long, e.g. 14d ("off": never)', 'CERT_EXPIRY', arg((t) => remindEveryValue(t, LIMITS.certExpiryMs))).default(0, 'off'))
    .addOption(envOption('--failure-threshold <n>', 'failed checks in a row that open an incident (the confirming checks run at once)', 'FAILURE_THRESHOLD', integerArg(...LIMITS.threshold)).default(DEFAULT_SETTINGS.failureThreshold))
    .addOption(envOption('--success-threshold <n>', 'good checks in a row that close it', 'SUCCESS_THRESHOLD', integerArg(...LIMITS.threshold)).default(DEFAULT_SETTINGS.successThreshold))
    .addOption(envOption('--remind-every <duration>', 'while down, repeat the alert this often ("off": never)', 'REMIND_EVERY', arg((t) => remindEveryValue(t, LIMITS.remindEveryMs))).default(0, 'off'))
    .addOption(envOption('--max-reminders <n>', 'most reminders per incident', 'MAX_REMINDERS', integerArg(...LIMITS.maxReminders)).default(DEFAULT_SETTINGS.maxReminders))
    .addOption(envOption('--to <addresses>', 'recipients of the alerts, comma-separated', 'ALERT_TO', emailListArg(false)).default([DEFAULT_RECIPIENT], DEFAULT_RECIPIENT))
    .addOption(envOption('--message <text>', 'text of the "down" alert (a reminder adds how long and which one)', 'ALERT_MESSAGE').default(DEFAULT_DOWN_MESSAGE))
    .addOption(envOption('--up-message <text>', 'text of the "up" alert (the outage\'s length is added)', 'ALERT_UP_MESSAGE').default(DEFAULT_UP_MESSAGE))
    .option('--exit-on-alert', "exit once the first down alert is delivered, as the book's agent does (env: EXIT_ON_ALERT=true)")
    .addOption(envOption('--view <view>', 'lines: plain lines; table: a live table; auto: the table with several targets on a terminal (plain logs), else lines', 'VIEW', choiceArg(VIEWS)).default('auto'))
    .addOption(envOption('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port (default: off)', 'METRICS_PORT', portArg))
    .addOption(envOption('--max-pending <n>', 'most alerts held while the mailer is away (then the oldest reminders go)', 'MAX_PENDING_ALERTS', integerArg(1, 1_000_000)).default(DEFAULT_MAX_PENDING))
    .addOption(envOption('--report-every <duration>', 'send the mailer a report of every target this often, json protocol only ("off": never)', 'REPORT_EVERY', reportEveryArg).default(DEFAULT_REPORT_EVERY_MS, '10s'))
    .addOption(envOption('--agent-name <name>', "this agent's name in its reports to the mailer (default: the hostname)", 'AGENT_NAME', agentNameArg))
    .addOption(envOption('--shard <i/n>', "watch only this replica's share of the targets (rendezvous hashing on their names): i/n counts from 1 (Swarm: {{.Task.Slot}}/3), index:i/n from 0 (a Kubernetes pod index)", 'SHARD', arg(parseShard)))
    .addOption(envOption('--copies <k>', 'with --shard: each target is watched by k of the n replicas (for the hub\'s --quorum)', 'COPIES', integerArg(1, MAX_REPLICAS)).default(1));
  return addLogOptions(program);
}

/** The per-target settings the flags give. */
function settingsFromOptions(opts: Record<string, unknown>): TargetSettings {
  const message = (opts.message as string).trim();
  const upMessage = (opts.upMessage as string).trim();
  if (message.length === 0) throw new ConfigError('--message must not be empty.');
  if (upMessage.length === 0) throw new ConfigError('--up-message must not be empty.');
  const expectStatusSpec = opts.expectStatus as string;
  const settings: TargetSettings = {
    ...expectStatusValue(expectStatusSpec),
    intervalMs: opts.interval as number,
    timeoutMs: opts.timeout as number,
    connectTimeoutMs: opts.connectTimeout as number,
    failureThreshold: opts.failureThreshold as number,
    successThreshold: opts.successThreshold as number,
    remindEveryMs: opts.remindEvery as number,
    maxReminders: opts.maxReminders as number,
    to: opts.to as string[],
    message,
    upMessage,
  };
  if (opts.bodyContains !== undefined) settings.bodyContains = opts.bodyContains as string;
  if (opts.bodyNotContains !== undefined) settings.bodyNotContains = opts.bodyNotContains as string;
  if (opts.maxResponseTime !== undefined) settings.maxResponseTimeMs = opts.maxResponseTime as number;
  if (opts.caFile !== undefined) Object.assign(settings, opts.caFile as { caFile: string; caPem: string });
  if (typeof opts.certExpiry === 'number' && opts.certExpiry > 0) settings.certExpiryMs = opts.certExpiry;
  const tooLong = messageProblem(settings);
  if (tooLong) {
    const flag = tooLong.key === 'message' ? '--message (ALERT_MESSAGE)' : '--up-message (ALERT_UP_MESSAGE)';
    throw new ConfigError(`${flag} is longer than ${tooLong.max} characters: with what the agent adds to it, the mailer would refuse the alert (fields of at most ${FIELD_MAX}).`);
  }
  return normalise(settings);
}

const FLAG_OF: Record<(typeof HTTP_ONLY_SETTINGS)[number], string> = {
  expectStatus: '--expect-status (EXPECT_STATUS)',
  bodyContains: '--body-contains (BODY_CONTAINS)',
  bodyNotContains: '--body-not-contains (BODY_NOT_CONTAINS)',
};

/** The --target values: each flag one URL; the TARGET env var a comma or space separated list. */
function targetTexts(opts: Record<string, unknown>, source: string | undefined): string[] {
  const raw = (opts.target as string[] | undefined) ?? [];
  const texts = source === 'env' ? raw.flatMap((t) => t.split(/[\s,]+/)) : raw;
  return texts.map((t) => t.trim()).filter((t) => t.length > 0);
}

/**
 * Everything but the config file's targets. `targetSource` is commander's
 * value source of --target ('cli' or 'env'); `configFile`, if set, is read
 * afterwards by parseAgentArgs.
 */
export function configFromOptions(
  opts: Record<string, unknown>,
  env: Env,
  targetSource: string | undefined = 'cli',
  /** commander's value source of an option ('default', 'env', 'cli'); without a program, a value other than the default counts as given. */
  sourceOf: (key: string) => string | undefined = (key) =>
    opts[key] === undefined ? undefined : key === 'expectStatus' && opts[key] === DEFAULT_EXPECT_STATUS ? 'default' : 'cli',
): AgentConfig {
  let web: LinkEndpoint | undefined;
  let mailerLink: LinkEndpoint | undefined;
  try {
    web = linkEndpoint(env, WEB_ALIAS, WEB_PORT);
    mailerLink = linkEndpoint(env, MAILER_ALIAS, MAILER_PORT);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const settings = settingsFromOptions(opts);
  const configFile = opts.config as string | undefined;
  const texts = targetTexts(opts, targetSource);
  if (configFile !== undefined && texts.length > 0) {
    throw new ConfigError('--target (TARGET) and --config (CONFIG_FILE) cannot be combined: list every target in the config file.');
  }
  const targets: TargetSpec[] = [];
  if (texts.length > 0) {
    const seen = new Set<string>();
    for (const text of texts) {
      let url: URL;
      try {
        url = parseTargetUrl(text);
      } catch (err) {
        throw new ConfigError(`option '--target <url>' argument '${text}' is invalid. ${(err as Error).message}`);
      }
      if (seen.has(url.href)) throw new ConfigError(`--target ${url.href} is given twice.`);
      seen.add(url.href);
      const kind = targetKind(url);
      if (kind !== 'http') {
        const given = HTTP_ONLY_SETTINGS.find((key) => sourceOf(key) !== undefined && sourceOf(key) !== 'default');
        if (given) throw new ConfigError(`${FLAG_OF[given]} cannot apply to --target ${url.href}: a ${kind}:// check has no HTTP status or body.`);
      }
      // Named as written: "http://insideweb:80/" stays so, though the URL drops the default port.
      targets.push({ ...forTarget(settings, url), name: nameFromUrlText(text, url), url, kind: targetKind(url) });
    }
  } else if (configFile === undefined) {
    const defaultName = `http://${WEB_ALIAS}:${WEB_PORT}/`;
    const url = new URL(web ? `http://${hostPort(web)}/` : defaultName);
    targets.push({ ...settings, name: defaultName, url, kind: 'http' });
  }
  const mailer = mailerSettings(opts, mailerLink);
  const exitOnAlert = (opts.exitOnAlert as boolean | undefined) ?? envBoolean(env, 'EXIT_ON_ALERT') ?? false;
  let shard: Shard | undefined;
  try {
    shard = shardOf(opts.shard as Omit<Shard, 'copies'> | undefined, opts.copies as number | undefined);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return withTargets({
    targets,
    allTargets: targets.length,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(shard !== undefined ? { shard } : {}),
    ...mailer,
    exitOnAlert,
    view: opts.view as ViewChoice,
    ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort as number } : {}),
    maxPending: opts.maxPending as number,
    reportEveryMs: (opts.reportEvery as number | undefined) ?? DEFAULT_REPORT_EVERY_MS,
    agentName: (opts.agentName as string | undefined) ?? defaultAgentName(),
    logFormat: opts.logFormat as LogFormat,
    logLevel: opts.logLevel as LogLevel,
    target: new URL(`http://${WEB_ALIAS}:${WEB_PORT}/`),
    targetName: '',
    intervalMs: settings.intervalMs,
    to: settings.to[0] ?? DEFAULT_RECIPIENT,
  }, targets);
}

/** `config` with `all` its targets, or on a shard its share of them; the first target's fields from the first watched. */
function withTargets(config: AgentConfig, all: TargetSpec[]): AgentConfig {
  const targets = config.shard ? shareOf(all, config.shard) : all;
  const first = targets[0];
  return {
    ...config,
    targets,
    allTargets: all.length,
    ...(first ? { target: first.url, targetName: first.name, intervalMs: first.intervalMs, to: first.to[0] ?? DEFAULT_RECIPIENT } : {}),
  };
}

/** Parse argv, env and the config file; on any error print one line and exit 2. */
export async function parseAgentArgs(argv: readonly string[], env: Env = process.env): Promise<AgentConfig> {
  const program = buildProgram();
  let settings: TargetSettings | undefined;
  const config = parseOrExit(program, argv, (opts) => {
    settings = settingsFromOptions(opts);
    return configFromOptions(opts, env, program.getOptionValueSource('target'), (key) => program.getOptionValueSource(key));
  });
  if (config.configFile === undefined || !settings) return config;
  try {
    return withTargets(config, await loadConfigFile(config.configFile, settings, env));
  } catch (err) {
    if (err instanceof ConfigError) return exitConfig(program.name(), err.message);
    throw err;
  }
}

