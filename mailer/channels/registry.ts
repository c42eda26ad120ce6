/** Every channel kind the mailer knows. Adding a channel: one line here. */
import type { ChannelKind } from './channel.ts';
import { logChannel } from './log.ts';
import { smtpChannel } from './smtp.ts';

export const CHANNEL_KINDS: readonly ChannelKind[] = [logChannel, smtpChannel];
