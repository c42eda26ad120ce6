/**
 * One name lookup at a time per host name: concurrent connections to one
 * host share the answer of a single `dns.lookup`. Node runs lookups on four
 * worker threads; with 200 targets on one origin that has gone away, 200
 * lookups a second of `insideweb` filled them, Docker's DNS dropped part of
 * each burst (a 5 s retry), and the lookup of `insidemailer` waited behind
 * them until the alert's POST timed out again and again. Shared, the checks
 * cost one lookup at a time and the mailer's name gets a thread.
 *
 * Nothing is cached past the lookup (the system's resolver may; a stopped
 * container's name must fail as soon as Docker says so).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const inFlight = new Map<string, Callback[]>();

/** A `lookup` for net.connect, http agents and undici's connect options. */
export function sharedLookup(hostname: string, options: LookupOneOptions | LookupAllOptions | Callback, callback?: Callback): void {
  const cb = (typeof options === 'function' ? options : callback) as Callback;
  const opts = typeof options === 'function' ? {} : options;
  const key = `${hostname}\n${opts.family ?? 0}\n${opts.all === true}\n${opts.hints ?? 0}\n${(opts as { order?: string }).order ?? ''}`;
  const waiting = inFlight.get(key);
  if (waiting) {
    waiting.push(cb);
    return;
  }
  inFlight.set(key, [cb]);
  const done = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number): void => {
    const callbacks = inFlight.get(key) ?? [];
    inFlight.delete(key);
    for (const each of callbacks) each(err, address, family);
  };
  (dnsLookup as (host: string, options: object, cb: Callback) => void)(hostname, opts, done);
}

/** How long the mailer's address is kept once looked up. */
const KEEP_MS = 30_000;
const kept = new Map<string, { at: number; address: string | LookupAddress[]; family?: number }>();

/**
 * sharedLookup for the mailer's name, keeping a found address for 30 s, so
 * an alert in a storm does not wait on a DNS server that drops queries; a
 * failed connection forgets it (forgetAddress), so a moved mailer is found again.
 */
export function keptLookup(hostname: string, options: LookupOneOptions | LookupAllOptions | Callback, callback?: Callback): void {
  const cb = (typeof options === 'function' ? options : callback) as Callback;
  const opts = typeof options === 'function' ? {} : options;
  const key = `${hostname}\n${opts.family ?? 0}\n${opts.all === true}`;
  const hit = kept.get(key);
  if (hit && performance.now() - hit.at < KEEP_MS) {
    process.nextTick(cb, null, hit.address, hit.family);
    return;
  }
  sharedLookup(hostname, opts, (err, address, family) => {
    if (!err) kept.set(key, { at: performance.now(), address, ...(family !== undefined ? { family } : {}) });
    cb(err, address, family);
  });
}

/** After a failed connection to `hostname`: look it up afresh next time. */
export function forgetAddress(hostname: string): void {
  for (const key of kept.keys()) if (key.startsWith(`${hostname}\n`)) kept.delete(key);
}
