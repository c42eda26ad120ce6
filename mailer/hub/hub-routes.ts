/**
 * The status page's HTTP routes, on the mailer's one port:
 *   GET  /                       the page (?q= filter, ?page=)
 *   GET  /targets/<name>         one target's page
 *   GET  /assets/status.js       the page's small script; /assets/status-<hash>.css, the rest of its
 *                                style (the first part is inline: page-style.ts), cached for good
 *   GET  /badge/<name>/status.svg, uptime-<24h|7d|30d|90d>.svg, response-time-24h.svg
 *                                (an unknown name: a badge saying "unknown target")
 *   GET  /login, POST /login     the login form and its session cookie (with --token)
 *   POST /silences, POST /silences/<id>/delete   the page's silence forms (CSRF token)
 *   GET  /api/v1/status, /api/v1/targets/<name>/history?window=24h|7d|90d,
 *        /api/v1/incidents?state=open|closed&limit=, /api/v1/silences (GET, POST; DELETE /<id>),
 *        /api/v1/events (Server-Sent Events)
 *   the ledger's writes (close an incident, forget an agent): ledger-routes.ts
 * Target names are percent-encoded in paths. Who may read and write, and who
 * sees all or the public view: access.ts; the views: hub-view.ts.
 * Answers are HTML or JSON with a strict Content-Security-Policy: the page runs
 * only its own script, and every alert field in it is escaped (page/html.ts).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { hostAddress } from '../../shared/peer-address.ts';
import { REFUSAL_LIMITS, ThrottledLog } from '../../shared/throttled-log.ts';
import { type Access } from './access.ts';
import { AGENTS_PATH } from './agents.ts';
import { badgeEtag, renderBadge, responseBadge, statusBadge, unknownTargetBadge, uptimeBadge } from './badges.ts';
import { EVENTS_PATH, type EventStreams } from './event-stream.ts';
import type { StatusHub } from './hub.ts';
import { type Audience, HISTORY_WINDOWS, type HistoryWindow, silenceView, type StatusViews } from './hub-view.ts';
import type { SilenceRow } from './model.ts';
import { decode, header, json, localPath, page, redirect, send } from './http-answers.ts';
import type { HubOperations } from './hub-operations.ts';
import { ledgerWrite, serveLedgerWrite } from './ledger-routes.ts';
import { escapeHtml } from './page/html.ts';
import { STATUS_REST_CSS, STATUS_REST_PATH } from './page/page-style.ts';
import { DEFAULT_PER_PAGE, type PageOptions, readPageQuery, renderLoginPage, renderStatusPage, renderTargetPage } from './page/render-page.ts';
import { parseSilence } from './silences.ts';
import { UPTIME_WINDOWS, type UptimeWindow } from './status-view.ts';

const FORM_MAX = 16 * 1024;
/** A silence the store could not write (disk full): not in force, and the answer says so (503). */
const UNWRITABLE = 'cannot write the store; retry later';
const refusedPage = (done: 'added' | 'removed', why: string): string =>
  `<!doctype html><title>Silence refused</title><p>The silence was not ${done}: ${escapeHtml(why)}. <a href="/#silences">Back</a></p>`;
const SCRIPT_PATH = '/assets/status.js';

/** The live script: beside the bundle (dist/mailer-page.js, which the image ships), or in dist/ when the sources run. */
function loadScript(): string | undefined {
  for (const url of [new URL('./mailer-page.js', import.meta.url), new URL('../../dist/mailer-page.js', import.meta.url)]) {
    try {
      return readFileSync(url, 'utf8');
    } catch {
      // the next place
    }
  }
  return undefined;
}

export interface PageRouteDeps {
  hub: StatusHub;
  views: StatusViews;
  streams: EventStreams;
  access: Access;
  log: Logger;
  /** The request's body, at most `max` bytes; undefined once a 413/408 was answered. */
  readBody: (req: IncomingMessage, res: ServerResponse, max: number) => Promise<Buffer | undefined>;
  now?: () => number;
  /** The ledger's writes; none: their paths answer 405. */
  ops?: HubOperations;
}

export class PageRoutes {
  readonly #d: PageRouteDeps;
  readonly #script = loadScript();
  readonly #now: () => number;
  readonly #refusals: ThrottledLog;

  constructor(deps: PageRouteDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#refusals = new ThrottledLog(deps.log, REFUSAL_LIMITS);
  }

  handles(path: string): boolean {
    return (
      path === '/' ||
      path === '/login' ||
      path === '/silences' ||
      path.startsWith('/silences/') ||
      path.startsWith('/targets/') ||
      path.startsWith('/assets/') ||
      path.startsWith('/badge/') ||
      path === '/api/v1/status' ||
      path === '/api/v1/incidents' ||
      path === '/api/v1/silences' ||
      path.startsWith('/api/v1/silences/') ||
      path.startsWith('/api/v1/targets/') ||
      path.startsWith('/api/v1/incidents/') ||
      path.startsWith(`${AGENTS_PATH}/`) ||
      path.startsWith('/incidents/') ||
      path.startsWith('/agents/') ||
      path === EVENTS_PATH
    );
  }

  async serve(req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    if (path.startsWith('/assets/')) return this.#asset(req, res, path);
    if (path === '/login') return method === 'POST' ? this.#login(req, res) : this.#loginPage(req, res, search.get('next') ?? '/');
    const writes = method === 'POST' || method === 'DELETE';
    if (!writes && method !== 'GET' && method !== 'HEAD') return json(req, res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    if (!writes) {
      const verdict = this.#d.access.read(req);
      if (!verdict.ok) return this.#refuseRead(req, res, path, verdict.status, verdict.error);
      return this.#read(req, res, path, search);
    }
    const { ops } = this.#d;
    if (ops && ledgerWrite(path, method)) return serveLedgerWrite({ ops, access: this.#d.access, readBody: this.#d.readBody, now: this.#now }, req, res, path);
    if (path === '/silences' || path.startsWith('/silences/')) return this.#silenceForm(req, res, path);
    if (path === '/api/v1/silences' && method === 'POST') return this.#silenceJson(req, res);
    if (path.startsWith('/api/v1/silences/') && method === 'DELETE') {
      const verdict = this.#d.access.write(req, header(req, 'x-ch2-csrf'));
      req.resume();
      if (!verdict.ok) return json(req, res, verdict.status, { error: verdict.error });
      const id = decode(path.slice('/api/v1/silences/'.length));
      const removed = id !== undefined && (await this.#d.hub.silences.remove(id).catch(() => UNWRITABLE));
      if (removed === UNWRITABLE) return json(req, res, 503, { error: UNWRITABLE }, { 'retry-after': '5' });
      return removed ? json(req, res, 200, { removed: id }) : json(req, res, 404, { error: 'no such silence' });
    }
    req.resume();
    return json(req, res, 405, { error: `use GET ${path.slice(0, 100)}` }, { allow: 'GET, HEAD' });
  }

  async #read(req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams): Promise<void> {
    req.resume();
    const now = this.#now();
    const { views } = this.#d;
    if (path === EVENTS_PATH) return this.#d.streams.open(req, res);
    if (path === '/') {
      const view = await views.status(this.#audience(req));
      return page(req, res, 200, renderStatusPage(view, this.#pageOptions(req, search, now)));
    }
    if (path.startsWith('/targets/')) {
      const name = decode(path.slice('/targets/'.length));
      const target = name === undefined ? undefined : views.target(name);
      if (!target) return page(req, res, 404, '<!doctype html><title>Not found</title><p>No such target. <a href="/">Back to the status page</a></p>');
      const incidents = await views.incidents({ state: 'all', limit: 50, target: target.name }, this.#audience(req));
      return page(req, res, 200, renderTargetPage(target, incidents, this.#pageOptions(req, search, now)));
    }
    if (path.startsWith('/badge/')) return this.#badge(req, res, path);
    if (path === '/api/v1/status') {
      return json(req, res, 200, await views.apiStatus(this.#audience(req)));
    }
    if (path === '/api/v1/incidents') {
      const state = search.get('state') ?? 'open';
      const limitText = search.get('limit') ?? '50';
      if (state !== 'open' && state !== 'closed') return json(req, res, 400, { error: 'state must be open or closed' });
      if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) return json(req, res, 400, { error: 'limit must be an integer from 1 to 1000' });
      return json(req, res, 200, await views.incidents({ state, limit: Number(limitText) }, this.#audience(req)));
    }
    if (path === '/api/v1/silences') return json(req, res, 200, this.#d.hub.silences.list(now).map(silenceView));
    if (path === AGENTS_PATH) return json(req, res, 200, this.#d.hub.agents());
    const history = /^\/api\/v1\/targets\/([^/]+)\/history$/.exec(path);
    if (history) {
      const name = decode(history[1]!);
      const window = search.get('window') ?? '24h';
      if (!(HISTORY_WINDOWS as readonly string[]).includes(window)) return json(req, res, 400, { error: `window must be one of ${HISTORY_WINDOWS.join(', ')}` });
      const h = name === undefined ? undefined : views.history(name, window as HistoryWindow);
      return h ? json(req, res, 200, h) : json(req, res, 404, { error: 'no such target' });
    }
    return json(req, res, 404, { error: `no such path: ${path.slice(0, 100)}` });
  }

  /** What this reader may see: all, or the public view (no recipients, error text, alert ids, dead letters). */
  #audience(req: IncomingMessage): Audience {
    return this.#d.access.seesAll(req) ? 'all' : 'public';
  }

  #pageOptions(req: IncomingMessage, search: URLSearchParams, now: number): PageOptions {
    const { filter, page: n } = readPageQuery(search);
    const o: PageOptions = { filter, page: n, perPage: DEFAULT_PER_PAGE, scriptPath: SCRIPT_PATH, now };
    if (this.#d.access.canWrite(req)) o.csrf = this.#d.access.csrfFor(req);
    return o;
  }

  #refuseRead(req: IncomingMessage, res: ServerResponse, path: string, status: number, error: string): void {
    req.resume();
    if (status === 401 && (path === '/' || path.startsWith('/targets/'))) {
      // A browser: the Basic challenge, and the login form for one that cancels it.
      return page(req, res, 401, renderLoginPage({ next: path }), { 'www-authenticate': 'Basic realm="ch2-mailer", charset="UTF-8"' });
    }
    return json(req, res, status, { error }, status === 401 ? { 'www-authenticate': 'Basic realm="ch2-mailer", charset="UTF-8"' } : undefined);
  }

  #asset(req: IncomingMessage, res: ServerResponse, path: string): void {
    req.resume();
    if (path === STATUS_REST_PATH) return send(req, res, 200, STATUS_REST_CSS, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' });
    const body = path === SCRIPT_PATH ? this.#script : undefined;
    if (body === undefined) return json(req, res, 404, { error: 'no such asset' });
    send(req, res, 200, body, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300', etag: badgeEtag(body) });
  }

  #badge(req: IncomingMessage, res: ServerResponse, path: string): void {
    const m = /^\/badge\/([^/]+)\/(status|uptime-(24h|7d|30d|90d)|response-time-24h)\.svg$/.exec(path);
    const name = m ? decode(m[1]!) : undefined;
    if (!m) return json(req, res, 404, { error: 'no such badge: use /badge/<target>/status.svg, uptime-<24h|7d|30d|90d>.svg or response-time-24h.svg' });
    const target = name === undefined ? undefined : this.#d.views.target(name);
    const window = m[3] as UptimeWindow | undefined;
    // A target the hub does not know (a typo, or none reported yet): a 200 badge that says so, as shields.io answers, since image proxies (GitHub's) show no 404 body.
    const b = !target
      ? unknownTargetBadge(m[2] === 'status' ? 'status' : window !== undefined ? `uptime ${window}` : 'response')
      : m[2] === 'status'
        ? statusBadge(target.state)
        : window !== undefined
          ? uptimeBadge(window, target.uptime[window])
          : responseBadge(target.responseMs.p50);
    const svg = renderBadge(b.label, b.value, b.color);
    const etag = badgeEtag(svg);
    const headers = { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': `${this.#d.access.token === undefined || this.#d.access.publicStatus ? 'public' : 'private'}, max-age=10`, etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    send(req, res, 200, svg, headers);
  }

  #loginPage(req: IncomingMessage, res: ServerResponse, next: string): void {
    req.resume();
    if (this.#d.access.token === undefined) return redirect(res, '/');
    page(req, res, 200, renderLoginPage({ next: localPath(next) }));
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await this.#form(req, res);
    if (form === undefined) return;
    const cookie = this.#d.access.login(form.get('token') ?? '');
    const next = localPath(form.get('next') ?? '/');
    if (cookie === undefined) {
      this.#refusals.warn(`Refused a login to the status page from ${req.socket.remoteAddress ?? '?'}: wrong token`, { event: 'refused', via: 'page' }, hostAddress(req.socket.remoteAddress));
      return page(req, res, 401, renderLoginPage({ error: 'Wrong token.', next }));
    }
    redirect(res, next, { 'set-cookie': cookie });
  }

  async #silenceForm(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const form = await this.#form(req, res);
    if (form === undefined) return;
    const verdict = this.#d.access.write(req, form.get('csrf') ?? '');
    if (!verdict.ok) return page(req, res, verdict.status, `<!doctype html><title>Refused</title><p>${verdict.status === 401 ? 'Log in first.' : `Refused: ${escapeHtml(verdict.error)}.`} <a href="/">Back</a></p>`);
    const del = /^\/silences\/([^/]+)\/delete$/.exec(path);
    if (del) {
      const id = decode(del[1]!);
      if (id !== undefined && (await this.#d.hub.silences.remove(id).catch(() => UNWRITABLE)) === UNWRITABLE) return page(req, res, 503, refusedPage('removed', UNWRITABLE));
      return redirect(res, '/#silences');
    }
    if (path !== '/silences') return page(req, res, 404, '<!doctype html><title>Not found</title><p>Not found. <a href="/">Back</a></p>');
    const added = await this.#addSilence({ target: form.get('target') ?? '', for: form.get('for') ?? '', until: form.get('until') ?? '', comment: form.get('comment') ?? '' });
    if ('error' in added) return page(req, res, added.status === 503 ? 503 : 400, refusedPage('added', added.error));
    redirect(res, '/#silences');
  }

  async #silenceJson(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const verdict = this.#d.access.write(req, header(req, 'x-ch2-csrf'));
    if (!verdict.ok) {
      req.resume();
      return json(req, res, verdict.status, { error: verdict.error });
    }
    const body = await this.#d.readBody(req, res, FORM_MAX);
    if (body === undefined) return;
    let data: unknown;
    try {
      data = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return json(req, res, 400, { error: `body is not valid JSON: ${(err as Error).message}` });
    }
    const added = await this.#addSilence(data);
    if ('error' in added) return json(req, res, added.status, { error: added.error }, added.status === 503 ? { 'retry-after': '5' } : undefined);
    return json(req, res, 201, silenceView(added));
  }

  /** A silence from the form or the API: read, added once on disk, logged; or why not (400 unreadable, 409 too many, 503 the store cannot be written). */
  async #addSilence(data: unknown): Promise<SilenceRow | { status: 400 | 409 | 503; error: string }> {
    const now = this.#now();
    const parsed = parseSilence(data, now);
    if (!parsed.ok) return { status: 400, error: parsed.error };
    const added = await this.#d.hub.silences.add(parsed.value, now).catch(() => UNWRITABLE);
    if (added === UNWRITABLE) return { status: 503, error: UNWRITABLE };
    if (typeof added === 'string') return { status: 409, error: added };
    this.#d.log.info(`silence added on ${[added.target, added.match && JSON.stringify(added.match)].filter(Boolean).join(' ')} until ${new Date(added.until).toISOString()}`, { event: 'silence', id: added.id });
    return added;
  }

  async #form(req: IncomingMessage, res: ServerResponse): Promise<URLSearchParams | undefined> {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      json(req, res, 415, { error: 'send a form (application/x-www-form-urlencoded)' });
      return undefined;
    }
    const body = await this.#d.readBody(req, res, FORM_MAX);
    return body === undefined ? undefined : new URLSearchParams(body.toString('utf8'));
  }
}
