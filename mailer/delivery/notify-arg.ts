/**
 * `--notify <url>` (repeatable; NOTIFY_URLS, a space- or comma-separated
 * list, as Watchtower's WATCHTOWER_NOTIFICATION_URL): each a URL in
 * shoutrrr's form. A comma splits only before another `scheme://`, since
 * shoutrrr's URLs carry lists (`?chats=1,2`, `toAddresses=a,b`). The kind
 * reads its URL when the channels are planned (channel-setup.ts); here it is
 * only a URL, and never echoed: it holds a token. One that does not parse is
 * told what a URL of its own scheme looks like (the kind's urlExample), or,
 * when its scheme is no kind's, a telegram:// one.
 */
import { ConfigError } from '../../shared/config.ts';
import type { ChannelKind } from './channels/channel.ts';
import { CHANNEL_KINDS } from './channels/registry.ts';

const WHERE = '--notify / NOTIFY_URLS';
const ANY_EXAMPLE = 'telegram://TOKEN@telegram?chats=123';

/** What a `--notify` URL written as `text` should look like: its scheme's kind's example (`x+https` as `x`), or undefined. */
export function urlExampleFor(text: string, kinds: readonly ChannelKind[] = CHANNEL_KINDS): { scheme: string; example: string } | undefined {
  const scheme = /^([a-z][a-z0-9]*)(?:\+[a-z]+)?:/i.exec(text.trim())?.[1]?.toLowerCase();
  if (scheme === undefined) return undefined;
  const example = kinds.find((k) => k.schemes?.includes(scheme))?.urlExample;
  return example === undefined ? undefined : { scheme, example };
}

export function notifyUrl(text: string, index: number): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const own = urlExampleFor(text);
    if (own) throw new ConfigError(`${WHERE}: URL ${index} is not a valid ${own.scheme}:// URL; one looks like ${own.example} (the value is not shown: it may hold a token).`);
    throw new ConfigError(`${WHERE}: URL ${index} is not a URL such as ${ANY_EXAMPLE} (the value is not shown: it may hold a token).`);
  }
  if (!/^[a-z][a-z0-9]*(\+[a-z]+)?:$/i.test(url.protocol)) throw new ConfigError(`${WHERE}: URL ${index} has no scheme such as slack:// (the value is not shown).`);
  return url;
}

/** Commander parser: appends; each value may be a list. */
export function notifyList(value: string, previous: URL[] | undefined): URL[] {
  const urls = [...(previous ?? [])];
  for (const text of value.split(/\s+|,(?=\s*[a-z][a-z0-9+]*:\/\/)/i).map((s) => s.trim()).filter((s) => s !== '')) {
    const url = notifyUrl(text, urls.length + 1);
    if (urls.some((u) => u.href === url.href)) throw new ConfigError(`${WHERE}: URL ${urls.length + 1} is given twice (the value is not shown).`);
    urls.push(url);
  }
  return urls;
}
