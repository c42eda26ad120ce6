/**
 * The mailer's `--config <file>` (CONFIG_FILE), JSON or YAML like the
 * agent's: the channels, each with its settings, which alerts it takes
 * (`match`) and whether it groups (`group`).
 *
 *   channels:
 *     - notify: pagerduty://0123456789abcdef0123456789abcdef
 *       match: { targets: ["db-*"], status: [down, up] }
 *     - name: team-chat
 *       notify: slack://hook:T000-B000-XXXX@webhook
 *       group: { wait: 2s, interval: 30s }
 *     - kind: webhook
 *       url: https://hooks.example/ch2
 *       match: { to: ["*@ops.example"] }
 *
 * An entry gives either `notify` (a --notify URL) or `kind` and that kind's
 * keys; `name` (default <kind>, <kind>-2, …), `match` (status, targets, to:
 * a value or a list; globs with * and ?) and `group` (true, false, or wait
 * and interval) are optional. Channels from flags and --notify take every
 * alert. Any problem is a ConfigError whose one line names the file, the
 * channel and the key.
 */
import { ALERT_STATUSES, type AlertStatus } from '../../shared/alert.ts';
import { ConfigError, durationInRange } from '../../shared/config.ts';
import { readConfigDocument } from '../../shared/config-document.ts';
import { flatten } from '../../shared/text.ts';
import type { MatchSpec } from '../../shared/alert-match.ts';

/** Largest config file read. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const MAX_CHANNELS = 1000;
export const CHANNEL_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface GroupSetting {
  waitMs?: number;
  intervalMs?: number;
}

export interface ChannelEntry {
  /** "config file x.yaml: channel 2 (pager)", for errors. */
  where: string;
  name?: string;
  kind?: string;
  notify?: string;
  /** The kind's own keys. */
  settings: Record<string, unknown>;
  match?: MatchSpec;
  /** false: never group; an object: group with these (the flags' defaults for what it leaves out). */
  group?: false | GroupSetting;
}

const ENTRY_KEYS = new Set(['name', 'kind', 'notify', 'match', 'group']);
const MATCH_KEYS = new Set(['status', 'targets', 'to']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, key: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v.trim() === '' || v.length > 500)) {
    throw new ConfigError(`${key}: expected a non-empty string or a list of them.`);
  }
  return list.map((v) => (v as string).trim());
}

function matchOf(value: unknown): MatchSpec {
  if (!isRecord(value)) throw new ConfigError('match: expected a mapping with status, targets or to.');
  const spec: { status?: AlertStatus[]; targets?: string[]; to?: string[] } = {};
  for (const [key, v] of Object.entries(value)) {
    if (!MATCH_KEYS.has(key)) throw new ConfigError(`match.${flatten(key, 40)}: unknown key; known: status, targets, to.`);
    const list = stringList(v, `match.${key}`);
    if (key === 'status') {
      const bad = list.find((s) => !ALERT_STATUSES.includes(s as AlertStatus));
      if (bad !== undefined) throw new ConfigError(`match.status: ${JSON.stringify(flatten(bad, 40))} is not down or up.`);
      spec.status = list as AlertStatus[];
    } else if (key === 'targets') spec.targets = list;
    else spec.to = list;
  }
  return spec;
}

function groupOf(value: unknown): false | GroupSetting {
  if (value === false) return false;
  if (value === true) return {};
  if (!isRecord(value)) throw new ConfigError('group: expected true, false, or a mapping with wait and interval.');
  const out: GroupSetting = {};
  for (const [key, v] of Object.entries(value)) {
    if (key !== 'wait' && key !== 'interval') throw new ConfigError(`group.${flatten(key, 40)}: unknown key; known: wait, interval.`);
    let ms: number;
    try {
      ms = durationInRange(String(v), key === 'wait' ? 0 : 100, 86_400_000);
    } catch (err) {
      throw new ConfigError(`group.${key}: ${(err as Error).message}`);
    }
    if (key === 'wait') out.waitMs = ms;
    else out.intervalMs = ms;
  }
  return out;
}

function entryOf(value: unknown): Omit<ChannelEntry, 'where'> {
  if (!isRecord(value)) throw new ConfigError('expected a mapping (notify: <url>, or kind: <kind> and its keys).');
  const entry: Omit<ChannelEntry, 'where'> = { settings: {} };
  for (const [key, v] of Object.entries(value)) {
    if (!ENTRY_KEYS.has(key)) {
      entry.settings[key] = v;
      continue;
    }
    if (key === 'match') entry.match = matchOf(v);
    else if (key === 'group') entry.group = groupOf(v);
    else if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`${key}: expected a string.`);
    else if (key === 'name') {
      if (!CHANNEL_NAME.test(v)) throw new ConfigError('name: expected lower-case letters, digits and -, starting with a letter.');
      entry.name = v;
    } else if (key === 'kind') entry.kind = v.trim();
    else entry.notify = v.trim();
  }
  if (entry.kind === undefined && entry.notify === undefined) throw new ConfigError('expected notify: <url>, or kind: <kind> and its keys.');
  if (entry.kind !== undefined && entry.notify !== undefined) throw new ConfigError('notify and kind: give one of them (a notify URL names its kind).');
  if (entry.notify !== undefined && Object.keys(entry.settings).length > 0) {
    throw new ConfigError(`${flatten(Object.keys(entry.settings)[0]!, 40)}: unknown key beside notify (known: name, notify, match, group).`);
  }
  return entry;
}

export function channelEntries(path: string, data: unknown): ChannelEntry[] {
  const file = `config file ${path}`;
  if (!isRecord(data)) throw new ConfigError(`${file}: expected a mapping with a channels list.`);
  for (const key of Object.keys(data)) if (key !== 'channels') throw new ConfigError(`${file}: ${flatten(key, 40)}: unknown key; known: channels.`);
  const list = data.channels;
  if (!Array.isArray(list)) throw new ConfigError(`${file}: channels: expected a list.`);
  if (list.length > MAX_CHANNELS) throw new ConfigError(`${file}: channels: more than ${MAX_CHANNELS}.`);
  return list.map((value, i) => {
    const label = isRecord(value) && typeof value.name === 'string' ? ` (${flatten(value.name, 40)})` : '';
    const where = `${file}: channel ${i + 1}${label}`;
    try {
      return { where, ...entryOf(value) };
    } catch (err) {
      throw new ConfigError(`${where}: ${(err as Error).message}`);
    }
  });
}

export async function loadChannelConfig(path: string): Promise<ChannelEntry[]> {
  return channelEntries(path, await readConfigDocument(path, MAX_FILE_BYTES));
}
