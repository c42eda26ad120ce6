/** The embedded default channel: the book's "Sending email: ..." line. Always on. */
import { sent } from '../../../shared/send-result.ts';
import { oneLine } from '../../../shared/text.ts';
import type { ChannelKind } from './channel.ts';

export const logChannel: ChannelKind = {
  kind: 'log',
  options: () => [],
  create: (_opts, { log }) => [
    {
      name: 'log',
      repeatIsHarmless: true,
      async send(item) {
        const { alert } = item;
        log.output(`Sending email: ${oneLine(item.line)}`, {
          event: 'alert',
          id: alert.id,
          to: alert.to,
          message: alert.message,
          status: alert.status,
          target: alert.target,
          reason: alert.reason,
          via: item.via,
        });
        return sent();
      },
    },
  ],
};
