/**
 * POST /alerts (answered 202 {"id"} once the alert is committed to the store)
 * and GET /alerts?state=pending|dead|sent (what is still owed, given up on,
 * delivered; paged, newest first; without ?state=, the pending ones). Bad JSON is a 400 with the reason, a
 * refused recipient a 403, a missing or wrong bearer token (with --token) a
 * 401, a store that cannot be written a 503 (the sender keeps the alert and
 * retries). Without --token, GET /alerts (which shows every alert's content)
 * answers loopback peers only and is a 403 for others.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { ALERTS_PATH, parseAlertJson } from '../../shared/wire-json.ts';
import type { Admissions } from '../intake/admission.ts';
import { LIST_STATES, type ListState, type Store } from '../store/store.ts';
import { isLoopback } from '../../shared/peer-address.ts';
import { authorized, BEARER_CHALLENGE, UNAUTHORIZED } from './bearer.ts';
import { type BodyLimits, readRequestBody } from './request-body.ts';
import { reply } from './reply.ts';

export interface AlertsRouteOptions extends BodyLimits {
  maxBytes: number;
  admissions: Admissions;
  store: Store;
  token?: string | undefined;
  log: Logger;
}

export async function alertsRoute(req: IncomingMessage, res: ServerResponse, options: AlertsRouteOptions, peer: string): Promise<void> {
  if (req.method !== 'POST' && req.method !== 'GET') {
    req.resume();
    return reply(res, 405, { error: `use POST ${ALERTS_PATH} (or GET ${ALERTS_PATH}?state=pending|dead|sent)` }, { allow: 'GET, POST' });
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    req.resume();
    options.admissions.reject('json', peer, UNAUTHORIZED.error);
    return reply(res, 401, UNAUTHORIZED, BEARER_CHALLENGE);
  }
  if (req.method === 'GET') {
    req.resume();
    if (options.token === undefined && !isLoopback(req.socket.remoteAddress)) {
      options.admissions.reject('json', peer, `GET ${ALERTS_PATH} from a non-loopback peer without --token`);
      return reply(res, 403, { error: `without --token, GET ${ALERTS_PATH} answers loopback only; start the mailer with --token` });
    }
    return listAlerts(req.url ?? '/', res, options.store);
  }
  const body = await readRequestBody(req, res, options.maxBytes, options, (error) => options.admissions.reject('json', peer, error));
  if (body === undefined) return;
  const parsed = parseAlertJson(body);
  if (!parsed.ok) {
    options.admissions.reject('json', peer, parsed.error);
    return reply(res, 400, { error: parsed.error });
  }
  let admission;
  try {
    admission = await options.admissions.admitJson(parsed.value, peer);
  } catch (err) {
    // The store logs when writes start and stop failing; one line per refused request would flood the log.
    options.log.debug(`Cannot keep alert from ${peer} in the store: ${(err as Error).message}; answered 503 so the sender retries.`, { event: 'store-error' });
    return reply(res, 503, { error: 'cannot write the store; retry later' }, { 'retry-after': '5' });
  }
  if (!admission.ok) return reply(res, admission.code === 'recipient' ? 403 : 400, { error: admission.error });
  return reply(res, 202, admission.duplicate ? { id: admission.id, duplicate: true } : { id: admission.id });
}

/** GET /alerts?state=pending|dead|sent[&limit=n][&cursor=c]: one page, newest first; `next` is the cursor of the next page. No state: pending. */
async function listAlerts(url: string, res: ServerResponse, store: Store): Promise<void> {
  const query = new URL(url, 'http://mailer').searchParams;
  const state = query.get('state') ?? 'pending';
  if (!(LIST_STATES as readonly string[]).includes(state)) {
    return reply(res, 400, { error: `state must be one of ${LIST_STATES.join(', ')}` });
  }
  const limitText = query.get('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) return reply(res, 400, { error: 'limit must be an integer from 1 to 1000' });
  const cursor = query.get('cursor') ?? undefined;
  if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) return reply(res, 400, { error: 'cursor must be the "next" of a previous page' });
  return reply(res, 200, await store.list({ state: state as ListState, limit, cursor }));
}
