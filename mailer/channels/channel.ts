/**
 * The one interface every alert channel implements, after Gatus's
 * alerting/provider and Alertmanager's notify: a channel sends one alert and
 * says whether a failure is worth retrying. It knows nothing of how alerts
 * arrive, and does no I/O beyond its own send.
 *
 * To add a channel: one file here exporting a ChannelKind, its test in
 * test/unit/channels/, and one line in registry.ts.
 */
import type { Option } from 'commander';
import type { Logger } from '../../shared/logger.ts';
import type { SendResult } from '../../shared/send-result.ts';
import type { QueuedAlert } from '../queued-alert.ts';

export interface Channel {
  /** Unique among the configured channels, e.g. "log", "smtp". */
  readonly name: string;
  send(item: QueuedAlert): Promise<SendResult>;
  close?(): Promise<void>;
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
