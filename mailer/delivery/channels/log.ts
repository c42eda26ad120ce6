/** The embedded default channel: the book's "Sending email: ..." line. Always on. */
import { sent } from '../../../shared/send-result.ts';
import { oneLine } from '../../../shared/text.ts';
import { defineKind } from './channel.ts';

/** The log channel never groups: one book line per alert, at once. */
export const logChannel = defineKind<Record<string, never>>({
  kind: 'log',
  fromOptions: () => [{}],
  create: (_settings, { log }) => ({
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
  }),
});
