/** Every channel kind the mailer knows. Adding a channel: one line here. */
import type { ChannelKind } from './channel.ts';
import { fileChannel } from './file.ts';
import { logChannel } from './log.ts';
import { discordChannel } from './discord.ts';
import { slackChannel } from './slack.ts';
import { smtpChannel } from './smtp.ts';
import { webhookChannel } from './webhook.ts';
import { execChannel } from './exec.ts';
import { teamsChannel } from './teams.ts';
import { telegramChannel } from './telegram.ts';
import { mattermostChannel } from './mattermost.ts';
import { googleChatChannel } from './google-chat.ts';
import { ntfyChannel } from './ntfy.ts';
import { gotifyChannel } from './gotify.ts';
import { pushoverChannel } from './pushover.ts';
import { matrixChannel } from './matrix.ts';
import { pagerdutyChannel } from './pagerduty.ts';
import { alertmanagerChannel } from './alertmanager.ts';

export const CHANNEL_KINDS: readonly ChannelKind[] = [
  logChannel, // the book's "Sending email: …" line, always on
  smtpChannel, // --smtp: e-mail
  webhookChannel, // --webhook (and --webhook-token); generic:// URLs
  slackChannel, // --slack-webhook; slack:// URLs
  discordChannel, // --discord-webhook; discord:// URLs
  fileChannel, // --file-dir: one .eml or .json file per alert
  execChannel, // --exec: a program per alert, the alert as JSON on stdin
  teamsChannel, // teams:// and teams+https:// URLs (a Workflows webhook, Adaptive Card 1.4)
  telegramChannel, // telegram://TOKEN@telegram?chats=…
  mattermostChannel, // mattermost://[user@]host/token[/channel]
  googleChatChannel, // googlechat://chat.googleapis.com/v1/spaces/…
  ntfyChannel, // ntfy://[user:pass@]host/topic
  gotifyChannel, // gotify://host/token
  pushoverChannel, // pushover://shoutrrr:TOKEN@USER/
  matrixChannel, // matrix://:TOKEN@host/?rooms=!id:server
  pagerdutyChannel, // pagerduty://ROUTING-KEY (Events API v2)
  alertmanagerChannel, // alertmanager://host:9093 (API v2)
];
