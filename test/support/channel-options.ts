/** Parse channel kinds' own options as the mailer's CLI would, with env vars set for the call only. */
import { Command } from 'commander';
import type { ChannelKind } from '../../mailer/delivery/channels/channel.ts';

export function parseChannelOptions(kinds: ChannelKind | readonly ChannelKind[], argv: string[], env: Record<string, string> = {}): Record<string, unknown> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const program = new Command('t').exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
    for (const kind of [kinds].flat()) for (const option of kind.options()) program.addOption(option);
    program.parse(argv, { from: 'user' });
    return program.opts();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
