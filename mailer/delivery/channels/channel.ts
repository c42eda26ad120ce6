/**
 * The one interface every alert channel implements, after Gatus's
 * alerting/provider and Alertmanager's notify: a channel sends one alert (or,
 * where it can, one message for a group of alerts) and says whether a failure
 * is worth retrying. It knows nothing of how alerts arrive, and does no I/O
 * beyond its own send.
 *
 * To add a channel: one file here exporting a ChannelKind, its test in
 * test/unit/channels/, and one line in registry.ts. A channel over HTTP
 * builds on http-post.ts; a chat channel on message-channel.ts.
 *
 * A kind declares its own typed settings `S` and where they come from:
 * - options() + fromOptions(): its own flags (each mirrored by an env var).
 *   fromOptions sees only the values of the options this kind declared.
 *   Check every value in its parser, at start: throw InvalidArgumentError
 *   (commander echoes the value) or ConfigError (it does not: use it when the
 *   value may carry a token), and the mailer exits 2 with one line.
 * - schemes + fromUrl(): `--notify <url>` (NOTIFY_URLS), shoutrrr's URL forms
 *   (`telegram://…`); a scheme `x+https` also reaches the kind of scheme x.
 *   Throw ConfigError without echoing the URL; name the part that is wrong.
 * - fromConfig() + configKeys: an entry of `--config <file>` (`kind: x` plus
 *   its keys; the caller refuses keys outside configKeys). Throw ConfigError
 *   naming the key (the caller adds file and channel).
 * - secrets(settings): every secret in them (passwords, tokens, URLs that
 *   carry a token), so that the logger scrubs them; error text names a
 *   server by scheme and host only.
 * - create(settings, ctx): runs after parsing, once logging is up; it must
 *   not throw. ctx.name is the channel's name (<kind>, <kind>-2, … or the
 *   config's name); ctx holds the mailer-wide settings (--from,
 *   --webhook-timeout), never another kind's.
 *
 * A channel:
 * - send(item, { signal }): never throws; returns sent(), transient()
 *   (retried with backoff, at the earliest after retryAfterMs) or permanent()
 *   (dead-lettered at once), with a one-line reason. When `signal` aborts (the
 *   dispatcher's timeout, or shutdown) the send must really stop (hand the
 *   signal to the library, or close the connection) and settle soon; the
 *   dispatcher retries only after it settled, so a send it gave up on cannot
 *   go out later beside its retry. Settle sent() only if the alert went out.
 *   The same alert may be sent again (after a retry or a restart): where the
 *   receiver can tell, make that visible (an idempotency key, a Message-ID, a
 *   file named by the alert id).
 * - sendGroup(items, { signal }): where the channel can say several alerts
 *   in one message (smtp, the chat channels, a grouped webhook), the same for
 *   a group; its result is every member's. Without it the channel never
 *   groups. The kind says so beforehand (`groups`), so that a `group:` asked
 *   of a kind that cannot is refused at start.
 * - rateLimit: the provider's published limit for this destination; the
 *   dispatcher sends no faster. A result's holdMs (Discord's bucket headers)
 *   pauses the destination besides.
 * - concurrency: how many sends the dispatcher runs at once on this channel
 *   (the size of its connection pool); nothing waits in a library's queue.
 * - close(): release connections; called once at shutdown.
 */
import type { Option } from 'commander';
import type { Logger } from '../../../shared/logger.ts';
import type { SendResult } from '../../../shared/send-result.ts';
import type { QueuedAlert } from '../../queued-alert.ts';

export interface RateLimit {
  /** Sends at most `count` per `perMs` (a token bucket that starts full). */
  count: number;
  perMs: number;
}

export interface Channel {
  /** Unique among the configured channels, e.g. "log", "smtp". */
  readonly name: string;
  /**
   * True when sending an alert twice does no harm (the log line). Otherwise the
   * mailer records a finished send at once, so a crash right after it cannot
   * cause a second e-mail or request.
   */
  readonly repeatIsHarmless?: boolean;
  /** Sends under way at once at the most (the dispatcher's default when absent). */
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
  send(item: QueuedAlert, options: SendOptions): Promise<SendResult>;
  sendGroup?(items: readonly QueuedAlert[], options: SendOptions): Promise<SendResult>;
  close?(): Promise<void>;
}

export interface SendOptions {
  /** Aborted when the dispatcher gives up on this attempt (timeout) or shuts down. */
  signal: AbortSignal;
}

/** What every channel may know of the mailer's own settings. */
export interface ChannelContext {
  /** This channel's name. */
  name: string;
  log: Logger;
  /** --from: the sender of alert e-mails (smtp, the file channel's .eml). */
  from: string;
  /** --webhook-timeout: the time one HTTP request to a receiver may take in all. */
  httpTimeoutMs: number;
  /** True when this channel's alerts are grouped (its route has a grouping policy): they come to sendGroup. */
  grouped?: boolean;
}

export interface ChannelKind<S = unknown> {
  readonly kind: string;
  /** Command-line options (each mirrored by an env var) this kind adds. */
  options?(): Option[];
  /** The channels this kind's own parsed options ask for (none when not configured). */
  fromOptions?(opts: Readonly<Record<string, unknown>>): S[];
  /** `--notify` URL schemes this kind reads (shoutrrr's names). */
  readonly schemes?: readonly string[];
  /** A `--notify` URL of this kind with placeholders (`telegram://TOKEN@telegram?chats=123`): what an unparsable one of its scheme is told to look like. */
  readonly urlExample?: string;
  fromUrl?(url: URL): S;
  /** The keys of a `--config` channel entry besides kind, name, match and group. */
  fromConfig?(entry: Readonly<Record<string, unknown>>): S;
  /** The keys fromConfig reads; any other key of an entry is refused with its name. */
  readonly configKeys?: readonly string[];
  /** Secrets in the settings, kept out of every log line. */
  secrets?(settings: S): string[];
  /**
   * Whether this kind's channels can send several alerts as one message: true
   * (smtp and the chat channels: they group unless configured otherwise),
   * 'when asked' (the webhook: only with a config entry's `group:`); false or
   * absent: never, and a `group:` asking for it stops the mailer at start.
   */
  readonly groups?: boolean | 'when asked';
  /** Why these settings cannot group although the kind can (checked at start, when grouping is asked). */
  groupRefusal?(settings: S): string | undefined;
  create(settings: S, ctx: ChannelContext): Channel;
}

/** Lets a typed kind sit in a list of kinds. */
export function defineKind<S>(kind: ChannelKind<S>): ChannelKind {
  return kind as unknown as ChannelKind;
}
