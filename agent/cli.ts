/**
 * The agent's command line: commander flags, each mirrored by an env var,
 * validated at start (a bad value exits 2 with a one-line reason). Defaults
 * are the book's: watch insideweb:80 once a second, tell insidemailer:33333.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DOWN_MESSAGE, DEFAULT_RECIPIENT, DEFAULT_UP_MESSAGE } from '../shared/alert.ts';
import {
  addLogOptions,
  choiceArg,
  ConfigError,
  durationArg,
  emailArg,
  envBoolean,
  envOption,
  type LogFormat,
  type LogLevel,
  parseOrExit,
  urlArg,
} from '../shared/config.ts';
import { type Env, hostPort, type LinkEndpoint, linkEndpoint } from '../shared/legacy-links.ts';
import { DEFAULT_EXPECT_STATUS, parseExpectStatus, type StatusMatcher } from './expect-status.ts';

export const MAILER_PROTOCOLS = ['json', 'raw'] as const;
export type MailerProtocol = (typeof MAILER_PROTOCOLS)[number];

export interface AgentConfig {
  /** The URL probed. */
  target: URL;
  /** How alerts name the target (the link alias form when the link variables gave the address). */
  targetName: string;
  mailer: LinkEndpoint;
  mailerProtocol: MailerProtocol;
  intervalMs: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  expectStatus: StatusMatcher;
  expectStatusSpec: string;
  to: string;
  message: string;
  upMessage: string;
  exitOnAlert: boolean;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

const WEB_ALIAS = 'insideweb';
const WEB_PORT = 80;
const MAILER_ALIAS = 'insidemailer';
const MAILER_PORT = 33333;

function expectStatusArg(text: string): string {
  try {
    parseExpectStatus(text);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
  return text.trim();
}

/** "host:port", "tcp://host:port" or "http://host:port" → endpoint. */
export function parseMailerAddress(text: string): LinkEndpoint {
  const value = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError('Expected host:port, tcp://host:port or http://host:port.');
  }
  if (!['tcp:', 'http:'].includes(url.protocol)) throw new InvalidArgumentError('Expected tcp:// or http://.');
  if (!url.hostname) throw new InvalidArgumentError('The mailer address has no host.');
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new InvalidArgumentError('Give the mailer as host:port; the agent adds /alerts itself.');
  }
  const port = url.port === '' ? (url.protocol === 'http:' ? 80 : MAILER_PORT) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

export function buildProgram(): Command {
  const program = new Command('ch2-agent')
    .description(
      'Watches a web site and tells the ch2 mailer when it goes down and when it comes back. ' +
        'Defaults follow "Docker in Action" ch2: http://insideweb:80/ once a second, mailer at insidemailer:33333; ' +
        'the legacy --link variables INSIDEWEB_PORT_80_TCP_* and INSIDEMAILER_PORT_33333_TCP_* are used when set.',
    )
    .version('0.1.0', '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addOption(envOption('--target <url>', 'URL to check (default: from the insideweb link, else http://insideweb:80/)', 'TARGET', urlArg(['http:', 'https:'])))
    .addOption(envOption('--mailer <address>', 'mailer host:port or http://host:port (default: from the insidemailer link, else insidemailer:33333)', 'MAILER_URL', parseMailerAddress))
    .addOption(envOption('--mailer-protocol <protocol>', "json: POST /alerts; raw: the book's text, for the book's mailer", 'MAILER_PROTOCOL', choiceArg(MAILER_PROTOCOLS)).default('json'))
    .addOption(envOption('--interval <duration>', 'time between checks (500ms, 1s, 2m)', 'INTERVAL', durationArg(100, 3_600_000)).default(1000, '1s'))
    .addOption(envOption('--timeout <duration>', 'time a check may take in all', 'TIMEOUT', durationArg(50, 600_000)).default(2000, '2s'))
    .addOption(envOption('--connect-timeout <duration>', 'time a TCP connect may take', 'CONNECT_TIMEOUT', durationArg(50, 600_000)).default(1000, '1s'))
    .addOption(envOption('--expect-status <list>', 'statuses that mean up: 2xx, 200, 200-299, comma-separated', 'EXPECT_STATUS', expectStatusArg).default(DEFAULT_EXPECT_STATUS))
    .addOption(envOption('--to <address>', 'recipient of the alerts', 'ALERT_TO', emailArg).default(DEFAULT_RECIPIENT))
    .addOption(envOption('--message <text>', 'text of the "down" alert', 'ALERT_MESSAGE').default(DEFAULT_DOWN_MESSAGE))
    .addOption(envOption('--up-message <text>', 'text of the "up" alert', 'ALERT_UP_MESSAGE').default(DEFAULT_UP_MESSAGE))
    .option('--exit-on-alert', "exit once the first down alert is delivered, as the book's agent does (env: EXIT_ON_ALERT=true)");
  return addLogOptions(program);
}

export function configFromOptions(opts: Record<string, unknown>, env: Env): AgentConfig {
  let web: LinkEndpoint | undefined;
  let mailerLink: LinkEndpoint | undefined;
  try {
    web = linkEndpoint(env, WEB_ALIAS, WEB_PORT);
    mailerLink = linkEndpoint(env, MAILER_ALIAS, MAILER_PORT);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const defaultName = `http://${WEB_ALIAS}:${WEB_PORT}/`;
  const target = (opts.target as URL | undefined) ?? new URL(web ? `http://${hostPort(web)}/` : defaultName);
  const targetName = opts.target ? target.href : defaultName;
  const mailer = (opts.mailer as LinkEndpoint | undefined) ?? mailerLink ?? { host: MAILER_ALIAS, port: MAILER_PORT };
  const timeoutMs = opts.timeout as number;
  const connectTimeoutMs = Math.min(opts.connectTimeout as number, timeoutMs);
  for (const key of ['message', 'upMessage'] as const) {
    const text = (opts[key] as string).trim();
    if (text.length === 0) throw new ConfigError(`--${key === 'message' ? 'message' : 'up-message'} must not be empty.`);
  }
  const exitOnAlert = (opts.exitOnAlert as boolean | undefined) ?? envBoolean(env, 'EXIT_ON_ALERT') ?? false;
  const expectStatusSpec = opts.expectStatus as string;
  return {
    target,
    targetName,
    mailer,
    mailerProtocol: opts.mailerProtocol as MailerProtocol,
    intervalMs: opts.interval as number,
    timeoutMs,
    connectTimeoutMs,
    expectStatus: parseExpectStatus(expectStatusSpec),
    expectStatusSpec,
    to: opts.to as string,
    message: (opts.message as string).trim(),
    upMessage: (opts.upMessage as string).trim(),
    exitOnAlert,
    logFormat: opts.logFormat as LogFormat,
    logLevel: opts.logLevel as LogLevel,
  };
}

/** Parse argv and env; on any error print one line and exit 2. */
export function parseAgentArgs(argv: readonly string[], env: Env = process.env): AgentConfig {
  return parseOrExit(buildProgram(), argv, (opts) => configFromOptions(opts, env));
}
