/**
 * `--notify <url>` (repeatable; NOTIFY_URLS, a space- or comma-separated
 * list, as Watchtower's WATCHTOWER_NOTIFICATION_URL): each a URL in
 * shoutrrr's form. A comma splits only before another `scheme://`, since
 * shoutrrr's URLs carry lists (`?chats=1,2`, `toAddresses=a,b`). The kind
 * reads its URL when the channels are planned (channel-setup.ts); here it is
 * only a URL, and never echoed: it holds a token.
 */
import { ConfigError } from '../../shared/config.ts';

const WHERE = '--notify / NOTIFY_URLS';

export function notifyUrl(text: string, index: number): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${WHERE}: URL ${index} is not a URL such as telegram://TOKEN@telegram?chats=123 (the value is not shown: it may hold a token).`);
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
