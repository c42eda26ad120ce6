/**
 * Which channels the mailer runs, from every source, in this order: each
 * kind's own flags (registry order), the channel modules, `--notify` URLs,
 * then the `--config` file's entries. Each gets a name (<kind>, <kind>-2, …
 * unless the config names it), its kind's typed settings, a match (config
 * entries only: flags and --notify take every alert) and its grouping (the
 * kind's default, or the config's; a `group:` asked of a kind that cannot
 * group is refused). Every problem is a ConfigError with one
 * line that names where the channel came from and never shows a URL.
 */
import { ConfigError } from '../../shared/config.ts';
import { flatten } from '../../shared/text.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ChannelEntry } from './channel-config.ts';
import type { Channel, ChannelKind } from './channels/channel.ts';
import { schemeOf } from './channels/notify-url.ts';
import { urlExampleFor } from './notify-arg.ts';
import { compileMatch, type Matcher } from '../../shared/alert-match.ts';

export interface GroupPolicy {
  waitMs: number;
  intervalMs: number;
}

export interface ChannelPlan {
  kind: ChannelKind;
  name: string;
  settings: unknown;
  match?: Matcher;
  group?: GroupPolicy;
}

/** A channel and how the dispatcher treats it. */
export interface Route {
  channel: Channel;
  match?: Matcher;
  group?: GroupPolicy;
}

export interface SetupInput {
  kinds: readonly ChannelKind[];
  /** Every parsed option; each kind sees only its own. */
  opts: Readonly<Record<string, unknown>>;
  /** Channel modules configured by flags and env vars, each with its settings. */
  modules?: readonly { kind: ChannelKind; settings: unknown }[];
  notify: readonly URL[];
  entries: readonly ChannelEntry[];
  /** --group-wait and --group-interval; a wait of 0 turns grouping off for channels that do not say. */
  group: GroupPolicy;
}

/** The values of the options `kind` declared, and nothing else. */
function ownOptions(kind: ChannelKind, opts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const own: Record<string, unknown> = {};
  for (const option of kind.options?.() ?? []) {
    const key = option.attributeName();
    if (key in opts) own[key] = opts[key];
  }
  return own;
}

function rethrow(where: string, err: unknown): never {
  if (err instanceof ConfigError) throw new ConfigError(`${where}: ${err.message.replace(/^[-\w /]*NOTIFY_URLS: /, '')}`);
  throw new ConfigError(`${where}: ${flatten((err as Error).message, 300)}`);
}

/** A `group:` (true, or wait and interval) asked of a kind, or settings, that cannot group: one line saying so. */
function refuseGroup(kind: ChannelKind, settings: unknown, kinds: ReadonlyMap<string, ChannelKind>): void {
  if (!kind.groups) {
    const able = [...kinds.values()].filter((k) => k.groups).map((k) => k.kind);
    throw new ConfigError(`group: a channel of kind ${kind.kind} sends each alert on its own and cannot group; remove the key (kinds that group: ${able.join(', ')}).`);
  }
  const why = kind.groupRefusal?.(settings);
  if (why !== undefined) throw new ConfigError(`group: ${why}`);
}

export function planChannels(input: SetupInput): ChannelPlan[] {
  const plans: ChannelPlan[] = [];
  const taken = new Set<string>();
  const byScheme = new Map<string, ChannelKind>();
  for (const kind of input.kinds) for (const scheme of kind.schemes ?? []) byScheme.set(scheme, kind);
  const byName = new Map(input.kinds.map((k) => [k.kind, k]));
  for (const { kind } of input.modules ?? []) byName.set(kind.kind, kind);
  const groupOf = (kind: ChannelKind): GroupPolicy | undefined => (kind.groups === true && input.group.waitMs > 0 ? input.group : undefined);
  const add = (kind: ChannelKind, settings: unknown, extra: { name?: string; match?: Matcher; group?: GroupPolicy | undefined } = {}): void => {
    let name = extra.name;
    if (name !== undefined) {
      if (taken.has(name)) throw new ConfigError(`the channel name ${name} is used twice.`);
    } else {
      name = kind.kind;
      for (let n = 2; taken.has(name); n += 1) name = `${kind.kind}-${n}`;
    }
    taken.add(name);
    const group = 'group' in extra ? extra.group : groupOf(kind);
    plans.push({ kind, name, settings, ...(extra.match ? { match: extra.match } : {}), ...(group ? { group } : {}) });
  };

  for (const kind of input.kinds) for (const settings of kind.fromOptions?.(ownOptions(kind, input.opts)) ?? []) add(kind, settings);
  for (const { kind, settings } of input.modules ?? []) add(kind, settings);
  input.notify.forEach((url, i) => {
    const where = `--notify / NOTIFY_URLS (URL ${i + 1}, ${schemeOf(url)}://)`;
    const kind = byScheme.get(schemeOf(url));
    if (!kind?.fromUrl) throw new ConfigError(`${where}: unknown scheme; known: ${[...byScheme.keys()].sort().join(', ')}.`);
    let settings: unknown;
    try {
      settings = kind.fromUrl(url);
    } catch (err) {
      rethrow(where, err);
    }
    add(kind, settings);
  });
  for (const entry of input.entries) {
    try {
      let kind: ChannelKind | undefined;
      let settings: unknown;
      if (entry.notify !== undefined) {
        let url: URL;
        try {
          url = new URL(entry.notify);
        } catch {
          const own = urlExampleFor(entry.notify, input.kinds);
          throw new ConfigError(`notify: not ${own ? `a valid ${own.scheme}:// URL; one looks like ${own.example}` : 'a URL'} (the value is not shown: it may hold a token).`);
        }
        kind = byScheme.get(schemeOf(url));
        if (!kind?.fromUrl) throw new ConfigError(`notify: unknown scheme ${schemeOf(url)}://; known: ${[...byScheme.keys()].sort().join(', ')}.`);
        try {
          settings = kind.fromUrl(url);
        } catch (err) {
          throw new ConfigError(`notify: ${(err as Error).message}`);
        }
      } else {
        kind = byName.get(entry.kind!);
        if (!kind) throw new ConfigError(`kind: unknown kind ${JSON.stringify(flatten(entry.kind!, 40))}; known: ${[...byName.keys()].filter((k) => k !== 'log').join(', ')}.`);
        if (!kind.fromConfig) throw new ConfigError(`kind: ${kind.kind} is configured with notify: <url>${kind.kind === 'log' ? ' (the log channel is always on)' : ''}.`);
        const known = new Set(kind.configKeys ?? []);
        const unknown = Object.keys(entry.settings).find((k) => kind!.configKeys !== undefined && !known.has(k));
        if (unknown !== undefined) throw new ConfigError(`${flatten(unknown, 40)}: unknown key for kind ${kind.kind}; known: ${['name', 'kind', 'match', 'group', ...known].join(', ')}.`);
        settings = kind.fromConfig(entry.settings);
      }
      if (entry.group !== undefined && entry.group !== false) refuseGroup(kind, settings, byName);
      const group = entry.group === undefined ? groupOf(kind) : entry.group === false ? undefined : { ...input.group, ...entry.group };
      const safeGroup = group && group.waitMs === 0 && entry.group === undefined ? undefined : group;
      add(kind, settings, { ...(entry.name ? { name: entry.name } : {}), ...(entry.match ? { match: compileMatch(entry.match) } : {}), group: safeGroup });
    } catch (err) {
      rethrow(entry.where, err);
    }
  }
  return plans;
}

export function planSecrets(plans: readonly ChannelPlan[]): string[] {
  return plans.flatMap((p) => p.kind.secrets?.(p.settings) ?? []).filter((s) => s.length > 0);
}

export function createRoutes(plans: readonly ChannelPlan[], ctx: { log: Logger; from: string; httpTimeoutMs: number }): Route[] {
  return plans.map((p) => ({
    channel: p.kind.create(p.settings, { ...ctx, name: p.name, grouped: p.group !== undefined }),
    ...(p.match ? { match: p.match } : {}),
    ...(p.group ? { group: p.group } : {}),
  }));
}
