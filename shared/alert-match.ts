/**
 * The one matcher language of routes and silences: which alerts a routed
 * channel takes (`match` in --config: statuses, target globs, recipient
 * globs) and which deliveries a silence mutes (those, plus channel names:
 * a silence is asked about an alert on one channel). An alert must pass
 * every list given, and one entry of a list suffices.
 *
 * The globs are ours, by hand: `*` matches any run of characters and `?` one,
 * slashes and dots included, because targets are URLs ("http://db-*") and
 * names ("db-*"), and recipients addresses ("*@ops.example"), which path
 * globs (minimatch) would split at each "/". Case matters for targets, not
 * for recipients. A target glob matches the target as the agent names it.
 */
import type { Alert, AlertStatus } from './alert.ts';

export interface MatchSpec {
  status?: readonly AlertStatus[];
  targets?: readonly string[];
  to?: readonly string[];
  /** Channel names (globs); a silence only: a route is its channel. Asked without a channel, it does not hold. */
  channels?: readonly string[];
}

export type Matcher = (alert: Alert, channel?: string) => boolean;

/**
 * Whether `text` matches `glob`: the greedy two-pointer walk that returns to
 * the last `*`, O(glob × text) at worst (a regular expression with several
 * `.*` could take polynomial time on hostile alert data).
 */
export function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || (glob[g] !== '*' && glob[g] === text[t]))) {
      g += 1;
      t += 1;
    } else if (g < glob.length && glob[g] === '*') {
      star = g;
      mark = t;
      g += 1;
    } else if (star >= 0) {
      g = star + 1;
      mark += 1;
      t = mark;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g += 1;
  return g === glob.length;
}

export function compileMatch(spec: MatchSpec): Matcher {
  const statuses = spec.status ? new Set(spec.status) : undefined;
  const targets = spec.targets;
  const recipients = spec.to?.map((g) => g.toLowerCase());
  const channels = spec.channels;
  return (alert, channel) =>
    (!statuses || statuses.has(alert.status)) &&
    (!targets || (alert.target !== undefined && targets.some((g) => globMatch(g, alert.target!)))) &&
    (!recipients || recipients.some((g) => globMatch(g, alert.to.toLowerCase()))) &&
    (!channels || (channel !== undefined && channels.some((g) => globMatch(g, channel))));
}
