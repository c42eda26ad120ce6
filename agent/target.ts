/**
 * One watched target, fully resolved: what to check, how often, what counts
 * as up, when to alert and whom. Flags give the defaults; a config file's
 * `defaults` block and each target's own keys override them (config-file.ts).
 */
import { DEFAULT_DOWN_MESSAGE, DEFAULT_RECIPIENT, DEFAULT_UP_MESSAGE } from '../shared/alert.ts';
import { DEFAULT_EXPECT_STATUS, parseExpectStatus, type StatusMatcher } from './expect-status.ts';
import type { Method } from './request-values.ts';
import type { JsonAssertion } from './json-assertions.ts';
import { parseDnsTarget } from './dns-target.ts';

export interface TargetSettings {
  intervalMs: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  expectStatus: StatusMatcher;
  expectStatusSpec: string;
  /** Up only if the body contains this text (http). */
  bodyContains?: string;
  /** Up only if the body does not contain this text (http). */
  bodyNotContains?: string;
  /** Down if a check takes longer than this, ms. */
  maxResponseTimeMs?: number;
  /** https: a PEM file of CAs trusted beside Node's roots (--ca-file, caFile), and its text, read at start. */
  caFile?: string;
  caPem?: string;
  /** https: the certificate is not verified (per target only; a warning at start). */
  insecure?: boolean;
  /** https: down while a certificate of the chain expires within this long, ms (--cert-expiry, certExpiry). */
  certExpiryMs?: number;
  /** http(s): what the check sends (config file only: request-values.ts); GET with no body by default. */
  method?: Method;
  requestHeaders?: Readonly<Record<string, string>>;
  /** The values of requestHeaders read from the environment (scrubbed from the logs). */
  headerSecrets?: readonly string[];
  basicAuth?: { authorization: string; secrets: readonly string[] };
  requestBody?: string;
  /** http(s): up only if the answer is JSON that passes these (json-assertions.ts). */
  jsonAssertions?: readonly JsonAssertion[];
  /** http(s): follow redirects (at most MAX_REDIRECTS) and judge the last answer; false (the default): a 3xx is the answer. */
  follow?: boolean;
  failureThreshold: number;
  successThreshold: number;
  /** Time between reminders while down; 0: none. */
  remindEveryMs: number;
  maxReminders: number;
  /** Recipients: one alert each. */
  to: readonly string[];
  message: string;
  upMessage: string;
}

export interface TargetSpec extends TargetSettings {
  /** Unique; alerts, log lines and metrics name the target by it. */
  name: string;
  /** http:, https:, tcp: (host and port) or dns: (dns-target.ts). */
  url: URL;
  kind: TargetKind;
}

/** The built-in defaults: the book's checks, made fast and sure (see the README's detection design). */
export const DEFAULT_SETTINGS: TargetSettings = {
  intervalMs: 1000,
  timeoutMs: 2000,
  connectTimeoutMs: 1000,
  expectStatus: parseExpectStatus(DEFAULT_EXPECT_STATUS),
  expectStatusSpec: DEFAULT_EXPECT_STATUS,
  failureThreshold: 2,
  successThreshold: 1,
  remindEveryMs: 0,
  maxReminders: 10,
  to: [DEFAULT_RECIPIENT],
  message: DEFAULT_DOWN_MESSAGE,
  upMessage: DEFAULT_UP_MESSAGE,
};

/** The limits every source of settings (flags, config file) enforces. */
export const LIMITS = {
  intervalMs: [100, 3_600_000],
  timeoutMs: [50, 600_000],
  connectTimeoutMs: [50, 600_000],
  maxResponseTimeMs: [1, 600_000],
  threshold: [1, 100],
  remindEveryMs: [1000, 30 * 24 * 3_600_000],
  maxReminders: [0, 1_000_000],
  certExpiryMs: [3_600_000, 366 * 86_400_000],
} as const;

export const TARGET_PROTOCOLS = ['http:', 'https:', 'tcp:', 'dns:'] as const;
export type TargetKind = 'http' | 'tcp' | 'dns';

/** The kind of check a URL asks for. */
export function targetKind(url: URL): TargetKind {
  return url.protocol === 'tcp:' ? 'tcp' : url.protocol === 'dns:' ? 'dns' : 'http';
}

/**
 * Checks a target URL: http(s) with a host, or tcp://host:port with nothing
 * after the port. Returns an error text, or undefined when it is fine.
 */
export function targetUrlProblem(url: URL): string | undefined {
  if (!(TARGET_PROTOCOLS as readonly string[]).includes(url.protocol)) return 'expected a URL starting http://, https://, tcp:// or dns://';
  if (url.protocol === 'dns:') {
    const query = parseDnsTarget(url);
    return typeof query === 'string' ? query : undefined;
  }
  if (!url.hostname) return 'the URL has no host';
  if (url.protocol === 'tcp:') {
    if (!url.port) return 'a tcp:// target needs a port: tcp://host:port';
    if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) return 'a tcp:// target is tcp://host:port, nothing after the port';
  }
  if (url.username || url.password) return 'credentials in the target URL are not supported';
  return undefined;
}

/** The settings only an HTTP check uses: a tcp:// target has no status or body. */
export const HTTP_ONLY_SETTINGS = ['expectStatus', 'bodyContains', 'bodyNotContains'] as const;
/** The settings only an https:// target uses (TLS); another target ignores them from flags or `defaults`. */
export const HTTPS_ONLY_SETTINGS = ['caFile', 'insecure', 'certExpiry'] as const;
/** The config keys of what an HTTP check sends: a tcp:// target refuses them as its own keys. */
export const REQUEST_KEYS = ['method', 'headers', 'body', 'basicAuth', 'follow', 'json'] as const;

/** Every value of the targets' settings that came from the environment as a secret (the logger scrubs them). */
export function secretsOf(targets: readonly TargetSettings[]): string[] {
  return [...new Set(targets.flatMap((t) => [...(t.headerSecrets ?? []), ...(t.basicAuth?.secrets ?? [])]))];
}

/**
 * The settings for a target at `url`: a tcp:// target drops the HTTP-only
 * ones it inherited (from flags or a config file's defaults), and any but an
 * https:// target the TLS ones; a target that sets one itself is refused
 * before this (see cli.ts, config-file.ts).
 */
export function forTarget(settings: TargetSettings, url: URL): TargetSettings {
  if (url.protocol === 'https:') return settings;
  const { caFile: _c, caPem: _p, insecure: _i, certExpiryMs: _e, ...plain } = settings;
  if (targetKind(url) === 'http') return plain;
  const { bodyContains: _b, bodyNotContains: _n, method: _m, requestHeaders: _h, headerSecrets: _s, basicAuth: _a, requestBody: _r, follow: _f, jsonAssertions: _j, ...rest } = plain;
  return { ...rest, expectStatus: DEFAULT_SETTINGS.expectStatus, expectStatusSpec: DEFAULT_SETTINGS.expectStatusSpec };
}

/** A target's timeouts made consistent: the connect timeout never exceeds the whole check's. */
export function normalise(settings: TargetSettings): TargetSettings {
  return { ...settings, connectTimeoutMs: Math.min(settings.connectTimeoutMs, settings.timeoutMs) };
}

/** The host and port a target connects to. */
export function endpointOf(url: URL): { host: string; port: number } {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/** The name of a target given only by its URL: the URL as written, unless that holds control characters. */
export function nameFromUrlText(text: string, url: URL): string {
  const trimmed = text.trim();
  return /[\u0000-\u001f\u007f]/.test(trimmed) || trimmed.length > 2000 ? url.href : trimmed;
}
