/**
 * The contract of a ch2 mailer channel module: your own channel, without a
 * rebuild of the image. A module is one ES module file (.mjs, or .js in an
 * ESM package) whose default export is a ChannelModule:
 *
 *     // pager.mjs
 *     /** @type {import('/app/ch2-channel.d.ts').ChannelModule} *\/
 *     export default {
 *       kind: 'pager',
 *       secrets: ['token'],
 *       create(settings, { log }) {
 *         return {
 *           async send(alert, { signal }) {
 *             const res = await fetch(settings.url, { method: 'POST', body: JSON.stringify(alert), signal });
 *             return res.ok ? { ok: true } : { ok: false, retry: res.status >= 500, error: `HTTP ${res.status}` };
 *           },
 *         };
 *       },
 *     };
 *
 * and is loaded with `--channel-module /etc/ch2/pager.mjs` (repeatable;
 * env CHANNEL_MODULES, a comma-separated list). Its settings come from env
 * vars `CH2_<KIND>_<KEY>` (CH2_PAGER_URL gives `url`; a kind's `-` is `_`
 * there), from `--channel-setting pager.url=https://…` (which wins), or from
 * a `--config` file entry `kind: pager` with its keys. A module that fails to
 * load, exports something else, or whose create throws or rejects stops the
 * mailer at start with one line (exit status 2).
 *
 * The mailer calls send once per alert, and again after a transient failure
 * (with backoff, until --max-retry-age). It never groups alerts for a module.
 * A send that throws, rejects, returns anything but a SendResult, or does not
 * settle within --module-timeout (default 10s) is a transient failure; the
 * mailer goes on. A send runs on the mailer's own thread: it must not block
 * (no busy loops, no synchronous I/O that can hang).
 *
 * This file ships in the mailer image as /app/ch2-channel.d.ts.
 */

/**
 * A channel's settings: string values by key. Keys are lower case
 * (a-z, 0-9, _, starting with a letter); numbers and booleans of a config
 * file arrive as strings ("30", "true"). A key nobody set is absent.
 */
export type ChannelSettings = Readonly<Record<string, string>>;

/** One alert, frozen: the fields a generic webhook gets as JSON. Optional fields are absent when the alert has none. */
export interface Alert {
  /** Unique id; the same on every retry of this alert (use it as an idempotency key). */
  readonly id: string;
  readonly status: 'down' | 'up';
  /** The recipient address the sender named, e.g. "admin@work". */
  readonly to: string;
  /** Human message, e.g. "The service is down!". Untrusted text: escape it for your receiver. */
  readonly message: string;
  /** What is watched, e.g. "http://insideweb:80/". */
  readonly target?: string;
  /** Why the check failed: "connection refused", "HTTP 503". */
  readonly reason?: string;
  /** When the agent saw the change (ISO 8601); when the mailer took the alert if the sender gave none. */
  readonly time: string;
  /** On an "up" alert: how long the outage lasted, ms; on a reminder: how long so far. */
  readonly downForMs?: number;
  /** On a reminder (still down): which one, from 1. */
  readonly reminder?: number;
  /** The agent's incident id: the same on its down, its reminders and its up (to resolve or thread). */
  readonly incident?: string;
  /** When the mailer accepted the alert (ISO 8601). */
  readonly receivedAt: string;
}

/**
 * What a send returns: sent, or a failure that says whether trying again can
 * help. `retry: false` dead-letters the alert at once. `error` is one line for
 * the mailer's log: name the receiver by scheme and host, never a token.
 * `retryAfterMs`: the receiver asks for no retry sooner (Retry-After).
 */
export type SendResult = { ok: true } | { ok: false; retry: boolean; error: string; retryAfterMs?: number };

export interface SendOptions {
  /**
   * Aborted when the mailer gives up on this attempt (--module-timeout, its
   * send timeout, or shutdown). Hand it to fetch (or close your connection):
   * the attempt counts as failed and is retried, so a send that went on
   * regardless could arrive beside its retry.
   */
  readonly signal: AbortSignal;
}

/** Lines in the mailer's log, prefixed with the channel's name; secrets are scrubbed. */
export interface ChannelLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ChannelContext {
  /** The channel's name: the kind (pager, pager-2, …) or the config file's `name`. */
  readonly name: string;
  readonly log: ChannelLogger;
}

/** One configured channel of a module's kind. */
export interface ModuleChannel {
  send(alert: Alert, options: SendOptions): SendResult | Promise<SendResult>;
  /** Release connections; called once at shutdown, and given 2 seconds. */
  close?(): void | Promise<void>;
}

/** The default export of a channel module. Other keys are refused (a typo in `secrets` must not go unseen). */
export interface ChannelModule {
  /** The kind's name: /^[a-z][a-z0-9-]*$/, not a built-in kind (log, smtp, webhook, slack, discord, file, exec, …). */
  readonly kind: string;
  /** The settings that hold secrets (tokens, passwords, URLs with a token): their values never reach the log. */
  readonly secrets?: readonly string[];
  /** Sends under way at once on one channel, 1 to 64 (default 4). */
  readonly concurrency?: number;
  /**
   * Makes one channel from its settings, at start. Check the settings here:
   * throw (or reject) with a one-line message naming the key, never its
   * value, and the mailer exits 2 with that line. Bounded by --module-timeout.
   */
  create(settings: ChannelSettings, context: ChannelContext): ModuleChannel | Promise<ModuleChannel>;
}
