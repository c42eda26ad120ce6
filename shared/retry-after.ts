/**
 * Retry-After (RFC 9110 §10.2.3), the one parser both programs use (the
 * agent's mailer client, the mailer's HTTP transport): `delay-seconds`
 * (digits only) or an HTTP-date in any of its three forms (IMF-fixdate, the
 * obsolete RFC 850 and asctime forms). Anything else (`0x10`, `1e3`, `-5`,
 * `1.5`, a loose date like `tomorrow`) is no Retry-After at all: the caller
 * falls back to its own backoff.
 *
 * Hand-written: no well-kept library parses just this header, and
 * Date.parse alone accepts far more than an HTTP date.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850 = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** Sun Nov  6 08:49:37 1994 */
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Longest delay-seconds read (more digits than this is junk, not a plan). */
const MAX_SECONDS_DIGITS = 12;

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const mon = MONTHS.indexOf(month);
  if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, mon, day, h, m, Math.min(s, 59));
  // Date.UTC rolls 31 Feb over into March: such a date is not a date.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** The moment an HTTP-date names (ms since the epoch), or undefined. */
export function parseHttpDate(text: string): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850.exec(text);
  if (m) {
    // Two-digit years: RFC 9110 says read them as the most recent past year with those digits (50 years rule).
    const yy = Number(m[3]);
    const nowYear = new Date().getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + yy;
    if (year > nowYear + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

/** A Retry-After header's delay in ms from `now` (never negative), or undefined when absent or not valid. */
export function parseRetryAfter(header: string | readonly string[] | undefined, now = Date.now()): number | undefined {
  const value = (typeof header === 'string' ? header : header?.[0])?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return value.length > MAX_SECONDS_DIGITS ? undefined : Number(value) * 1000;
  const at = parseHttpDate(value);
  return at === undefined ? undefined : Math.max(0, at - now);
}
