/**
 * The one interface every alert channel implements, after Gatus's
 * alerting/provider and Alertmanager's notify: a channel sends one alert and
 * says whether a failure is worth retrying. It knows nothing of how alerts
 * arrive, and does no I/O beyond its own send.
 *
 * To add a channel: one file here exporting a ChannelKind, its test in
 * test/unit/channels/, and one line in registry.ts. A channel over HTTP
 * builds on http-post.ts, as webhook.ts, slack.ts and discord.ts do.
 *
 * The contract, as log, smtp, webhook, slack, discord and file keep it:
 * - options(): commander Options made with envOption (each mirrored by an env
 *   var). Check every value in its parser, at start: throw InvalidArgumentError
 *   (commander echoes the value) or ConfigError (it does not: use it when the
 *   value may carry a token), and the mailer exits 2 with one line. A flag
 *   that may be given more than once takes a parser (value, previous) that
 *   appends, and its env var a list.
 * - create(): runs after parsing, once logging is up; it must not throw. It
 *   gets every parsed option (a kind may read another's, as file reads
 *   --from). Several channels of one kind are named <kind>, <kind>-2, ….
 * - secrets(): every secret in the parsed options (passwords, tokens, URLs
 *   that carry a token), so that the logger scrubs them; error text names
 *   a server by scheme and host only.
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
 * - concurrency: how many sends the dispatcher runs at once on this channel
 *   (the size of its connection pool); nothing waits in a library's queue.
 * - close(): release connections; called once at shutdown.
 */
import type { Option } from 'commander';
import type { Logger } from '../../../shared/logger.ts';
import type { SendResult } from '../../../shared/send-result.ts';
import type { QueuedAlert } from '../../queued-alert.ts';

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
  send(item: QueuedAlert, options: SendOptions): Promise<SendResult>;
  close?(): Promise<void>;
}

export interface SendOptions {
  /** Aborted when the dispatcher gives up on this attempt (timeout) or shuts down. */
  signal: AbortSignal;
}

export interface ChannelContext {
  log: Logger;
}

export interface ChannelKind {
  kind: string;
  /** Command-line options (each mirrored by an env var) this kind adds. */
  options(): Option[];
  /** Secrets in the parsed options, kept out of every log line. */
  secrets?(opts: Record<string, unknown>): string[];
  /** The channels the parsed options ask for (none when not configured). */
  create(opts: Record<string, unknown>, ctx: ChannelContext): Channel[];
}
