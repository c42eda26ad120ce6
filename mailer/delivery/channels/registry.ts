/** Every channel kind the mailer knows. Adding a channel: one line here. */
import type { ChannelKind } from './channel.ts';
import { fileChannel } from './file.ts';
import { logChannel } from './log.ts';
import { discordChannel } from './discord.ts';
import { slackChannel } from './slack.ts';
import { smtpChannel } from './smtp.ts';
import { webhookChannel } from './webhook.ts';

export const CHANNEL_KINDS: readonly ChannelKind[] = [
  logChannel, // the book's "Sending email: …" line, always on
  smtpChannel, // --smtp: e-mail
  webhookChannel, // --webhook (and --webhook-token, --webhook-timeout)
  slackChannel, // --slack-webhook
  discordChannel, // --discord-webhook
  fileChannel, // --file-dir: one .eml or .json file per alert
];
