/**
 * Which HTTP statuses count as "up": "2xx,3xx" (the default), "200",
 * "200-299,301". The book's agent grepped "200 OK", which calls a redirect
 * (WordPress's install page) "down".
 */
export type StatusMatcher = (status: number) => boolean;

export const DEFAULT_EXPECT_STATUS = '2xx,3xx';

export function parseExpectStatus(spec: string): StatusMatcher {
  const ranges: Array<[number, number]> = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim().toLowerCase();
    let match: RegExpExecArray | null;
    if ((match = /^([1-5])xx$/.exec(part))) {
      const base = Number(match[1]) * 100;
      ranges.push([base, base + 99]);
    } else if ((match = /^(\d{3})-(\d{3})$/.exec(part))) {
      const lo = Number(match[1]);
      const hi = Number(match[2]);
      if (lo > hi) throw new Error(`range "${part}" runs backwards`);
      ranges.push([lo, hi]);
    } else if (/^\d{3}$/.test(part)) {
      ranges.push([Number(part), Number(part)]);
    } else {
      throw new Error(`"${raw.trim()}" is not a status, range (200-299) or class (2xx)`);
    }
  }
  for (const [lo, hi] of ranges) {
    if (lo < 100 || hi > 599) throw new Error(`status ${lo < 100 ? lo : hi} is outside 100-599`);
  }
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}
