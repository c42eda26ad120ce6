/** Parse channel kinds' own options as the mailer's CLI would, with env vars set for the call only; and make their channels. */
import { Command } from 'commander';
import { createRoutes, planChannels, planSecrets } from '../../mailer/delivery/channel-setup.ts';
import type { Channel, ChannelKind } from '../../mailer/delivery/channels/channel.ts';
import { DEFAULT_FROM } from '../../mailer/delivery/email-content.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';

export function parseChannelOptions(kinds: ChannelKind | readonly ChannelKind[], argv: string[], env: Record<string, string> = {}): Record<string, unknown> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const program = new Command('t').exitOverride().configureOutput({ writeErr: () => {}, outputError: () => {} });
    for (const kind of [kinds].flat()) for (const option of kind.options?.() ?? []) program.addOption(option);
    program.parse(argv, { from: 'user' });
    return program.opts();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface TestContext {
  log: Logger;
  from?: string;
  httpTimeoutMs?: number;
}

/** The channels parsed options ask for, named as the mailer names them (grouping off). */
export function channelsOf(kinds: ChannelKind | readonly ChannelKind[], opts: Record<string, unknown>, ctx: TestContext): Channel[] {
  const plans = planChannels({ kinds: [kinds].flat(), opts, notify: [], entries: [], group: { waitMs: 0, intervalMs: 1000 } });
  return createRoutes(plans, { log: ctx.log, from: ctx.from ?? DEFAULT_FROM, httpTimeoutMs: ctx.httpTimeoutMs ?? 10_000 }).map((r) => r.channel);
}

/** The secrets the channels of these options hold, as the mailer's logger gets them. */
export function secretsOf(kinds: ChannelKind | readonly ChannelKind[], opts: Record<string, unknown>): string[] {
  return planSecrets(planChannels({ kinds: [kinds].flat(), opts, notify: [], entries: [], group: { waitMs: 0, intervalMs: 1000 } }));
}

const sink = { write: () => true } as unknown as NodeJS.WritableStream;
const quiet = await createLogger({ name: 'test', format: 'plain', level: 'error', out: sink, err: sink });

/** One channel of a kind from its settings. */
export function channelOf<S>(kind: ChannelKind, settings: S, options: { name?: string; timeoutMs?: number; log?: Logger; from?: string } = {}): Channel {
  return kind.create(settings, { name: options.name ?? kind.kind, log: options.log ?? quiet, from: options.from ?? DEFAULT_FROM, httpTimeoutMs: options.timeoutMs ?? 10_000 });
}
