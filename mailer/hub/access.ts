/**
 * Who may see the status page and change what the hub keeps. With --token,
 * every page, API and event-stream request needs it: `Authorization: Bearer
 * <token>`, HTTP Basic with the token as the password (any user name), or the
 * session cookie the login form (POST /login) sets. A request that changes
 * something (a silence) on the strength of the cookie must also carry the
 * CSRF token (a form field, or the X-CH2-CSRF header), which the page embeds
 * and a cross-site page cannot read; its Origin, when sent, must be this
 * host. --public-status lets anyone read the page, its API and badges
 * (changes still need the token). Without --token the page can be read by
 * anyone who can reach the port, but every change (a silence, closing an
 * incident, forgetting an agent: each goes through write) is taken from
 * loopback peers only (the mailer's own host or container, as GET /alerts),
 * a 403 saying so for others; a form still needs the CSRF token and a JSON
 * change its content type (which a cross-site page cannot send without
 * CORS, which the mailer never grants). A reader without the token, or a
 * non-loopback one without --token, gets the public view (seesAll false:
 * hub-view.ts leaves out recipients, error text and alert ids). The Host a
 * browser sends is checked before any of this (http/host-check.ts).
 *
 * Sessions live in memory (a mailer restart asks to log in again), at most
 * MAX_SESSIONS, for SESSION_MS each. The token is compared in constant time.
 * It is the --token of the mailer's start (a flag or env var, never read
 * again): a reader let in by it, or by an open page, stays let in for the
 * mailer's life; one let in by a session only until the session ends or is
 * pushed out (readUntil, which the event stream goes by).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopback } from '../../shared/peer-address.ts';

export const SESSION_COOKIE = 'ch2_session';
const SESSION_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;
/** The refusal of a tokenless change from another host: what to do instead. */
export const LOOPBACK_ONLY =
  'without --token, changes (silences, closing incidents, forgetting agents) are taken from loopback only: run the request on the mailer\'s own host ' +
  '(docker exec), or start the mailer with --token (MAILER_TOKEN) and send it (Authorization: Bearer <token>)';

export type Verdict = { ok: true; via: 'token' | 'cookie' | 'open' } | { ok: false; status: 401 | 403; error: string };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class Access {
  readonly token: string | undefined;
  readonly publicStatus: boolean;
  readonly #secret = randomBytes(32);
  readonly #sessions = new Map<string, number>();

  constructor(token: string | undefined, publicStatus: boolean) {
    this.token = token;
    this.publicStatus = publicStatus;
  }

  /** The token given with the request (Bearer, or Basic's password), if it is the right one. */
  #tokenGiven(req: IncomingMessage): boolean {
    if (this.token === undefined) return false;
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer) return same(bearer[1]!, this.token);
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!basic) return false;
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && same(decoded.slice(colon + 1), this.token);
  }

  #session(req: IncomingMessage): string | undefined {
    const id = cookie(req, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const until = this.#sessions.get(id);
    if (until === undefined) return undefined;
    if (until < Date.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return id;
  }

  /** May this request read the page, its API, badges or events? */
  read(req: IncomingMessage): Verdict {
    if (this.token === undefined || this.publicStatus) return { ok: true, via: 'open' };
    if (this.#tokenGiven(req)) return { ok: true, via: 'token' };
    if (this.#session(req) !== undefined) return { ok: true, via: 'cookie' };
    return { ok: false, status: 401, error: 'the status page needs the mailer token (HTTP Basic with the token as password, a Bearer token, or log in at /login)' };
  }

  /**
   * Until when this request may read (ms since epoch): Infinity with the token
   * or an open page, the session's end with the cookie; undefined: not now.
   */
  readUntil(req: IncomingMessage): number | undefined {
    if (this.token === undefined || this.publicStatus || this.#tokenGiven(req)) return Infinity;
    const id = this.#session(req);
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  /** May this request change something? `csrf`: the token the request carries (form field or header). */
  write(req: IncomingMessage, csrf: string | undefined): Verdict {
    // Another site's page: refused whatever it carries. `Origin: null` is also the page's own forms (its
    // Referrer-Policy is no-referrer), so it passes only as far as the CSRF token lets it.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && !sameHost(origin, req.headers.host)) return { ok: false, status: 403, error: 'cross-origin request refused' };
    // A Bearer token is never sent by a browser on its own; HTTP Basic and the cookie are (ambient credentials).
    if (this.token !== undefined && /^Bearer\s/i.test(req.headers.authorization ?? '') && this.#tokenGiven(req)) return { ok: true, via: 'token' };
    // What a cross-site page cannot send without a CORS preflight (which the mailer never grants): JSON, DELETE.
    const preflighted = /^application\/json\b/i.test(req.headers['content-type'] ?? '') || req.method === 'DELETE';
    const guarded = preflighted || (csrf !== undefined && same(csrf, this.csrfFor(req)));
    if (this.token === undefined) {
      if (!isLoopback(req.socket.remoteAddress)) return { ok: false, status: 403, error: LOOPBACK_ONLY };
      return guarded ? { ok: true, via: 'open' } : { ok: false, status: 403, error: 'send JSON (content-type application/json), or the form with its CSRF token (reload the page)' };
    }
    const basic = this.#tokenGiven(req);
    if (!basic && this.#session(req) === undefined) return { ok: false, status: 401, error: 'missing or wrong mailer token' };
    // Basic with no Origin at all is no browser form (curl, a script): the token is the proof.
    if (basic && origin === undefined) return { ok: true, via: 'token' };
    if (!guarded) return { ok: false, status: 403, error: 'missing or wrong CSRF token; reload the page' };
    return { ok: true, via: basic ? 'token' : 'cookie' };
  }

  /** The CSRF token the page embeds for this request's session (or for loopback use without a token). */
  csrfFor(req: IncomingMessage): string {
    return createHmac('sha256', this.#secret).update(this.#session(req) ?? 'no-session').digest('base64url');
  }

  /** Whether the page may offer its forms to this reader (write may still refuse what it sends). */
  canWrite(req: IncomingMessage): boolean {
    if (this.token === undefined) return isLoopback(req.socket.remoteAddress);
    return this.#tokenGiven(req) || this.#session(req) !== undefined;
  }

  /**
   * Whether this reader sees everything (recipients, error text, alert ids,
   * dead letters): the token's holder (or a session), any reader of a page
   * that needs the token, and without --token a loopback peer. Others get
   * the public view.
   */
  seesAll(req: IncomingMessage): boolean {
    if (this.token === undefined) return isLoopback(req.socket.remoteAddress);
    return !this.publicStatus || this.#tokenGiven(req) || this.#session(req) !== undefined;
  }

  /** POST /login: a Set-Cookie value for a new session when the token is right. */
  login(given: string): string | undefined {
    if (this.token === undefined || !same(given, this.token)) return undefined;
    if (this.#sessions.size >= MAX_SESSIONS) {
      const now = Date.now();
      for (const [id, until] of this.#sessions) if (until < now) this.#sessions.delete(id);
      if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    const id = randomBytes(24).toString('base64url');
    this.#sessions.set(id, Date.now() + SESSION_MS);
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`;
  }
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
