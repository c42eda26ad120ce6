/**
 * The status page's `figures` event (hub.ts, after each report): for each
 * target the report named, its uptimes and its current hour's and day's bars,
 * so an open page keeps its rows' uptimes and bar strips current without a
 * reload (page/live-client.ts). Compact, as it goes to every open page after
 * every report: {at, targets: [[name, up24h, up7d, up30d, up90d, hour, day]]},
 * an uptime a number or null, a bar its page/bar-strip.ts token.
 */
import { barToken } from './page/bar-strip.ts';
import { UPTIME_WINDOWS } from './status-view.ts';
import type { TargetEntry } from './target-board.ts';

export interface FiguresEvent {
  at: string;
  targets: Array<[string, ...Array<number | null>, string, string]>;
}

export function figuresEvent(entries: Iterable<TargetEntry>, now: number): FiguresEvent {
  const targets: FiguresEvent['targets'] = [];
  for (const e of entries) {
    const hour = e.rollup.hourly(now, 1)[0];
    const day = e.rollup.daily(now, 1)[0];
    targets.push([e.name, ...UPTIME_WINDOWS.map((w) => e.rollup.uptime(w, now)), hour ? barToken(hour) : '-', day ? barToken(day) : '-']);
  }
  return { at: new Date(now).toISOString(), targets };
}
