/**
 * POST /api/v1/alerts: a JSON array of alerts (shared/wire-batch.ts), each
 * admitted as POST /alerts admits one (intake/admission.ts), under the same
 * token rule. The items are handed to the store together and in order, so
 * they share its group commit and are committed in the order sent; the
 * answer comes once every kept item is committed, and names by index the
 * items not kept and why (202 all kept, 207 otherwise; 503 items: retry).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { type BatchAnswer, type BatchItemResult, BATCH_ALERTS_PATH, BATCH_MAX_BYTES, parseAlertBatch } from '../../shared/wire-batch.ts';
import type { Admission, Admissions } from '../intake/admission.ts';
import { authorized, BEARER_CHALLENGE, UNAUTHORIZED } from './bearer.ts';
import { type BodyLimits, readRequestBody } from './request-body.ts';
import { reply } from './reply.ts';

export interface AlertBatchRouteOptions extends BodyLimits {
  /** --max-bytes: the largest alert, here each item (as JSON). */
  maxBytes: number;
  admissions: Admissions;
  token?: string | undefined;
  log: Logger;
}

export async function alertBatchRoute(req: IncomingMessage, res: ServerResponse, options: AlertBatchRouteOptions, peer: string): Promise<void> {
  const { admissions } = options;
  if (req.method !== 'POST') {
    req.resume();
    return reply(res, 405, { error: `use POST ${BATCH_ALERTS_PATH} with a JSON array of alerts` }, { allow: 'POST' });
  }
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    req.resume();
    admissions.reject('json', peer, UNAUTHORIZED.error);
    return reply(res, 401, UNAUTHORIZED, BEARER_CHALLENGE);
  }
  const body = await readRequestBody(req, res, BATCH_MAX_BYTES, options, (error) => admissions.reject('json', peer, error));
  if (body === undefined) return;
  const parsed = parseAlertBatch(body, options.maxBytes);
  if (!parsed.ok) {
    admissions.reject('json', peer, parsed.error);
    return reply(res, parsed.status, { error: parsed.error });
  }
  // Every admit starts now, in order: one group commit, and the dispatcher gets them in the order sent.
  const admits = parsed.items.map((item) => (item.ok ? admissions.admitJson(item.value, peer) : undefined));
  const invalid = parsed.items.flatMap((item, index) => (item.ok ? [] : [`item ${index}: ${item.error}`]));
  // One line for the batch's invalid items, not one per item.
  if (invalid.length > 0) admissions.reject('json', peer, `${invalid.length} of ${parsed.items.length} alerts in a batch: ${invalid[0]}${invalid.length > 1 ? ' (and more)' : ''}`);
  const settled = await Promise.allSettled(admits.map((a) => a ?? Promise.resolve(undefined)));
  let storeFailed = false;
  const results = settled.map((outcome, index): BatchItemResult => {
    const item = parsed.items[index]!;
    if (!item.ok) return { index, status: item.status, error: item.error };
    if (outcome.status === 'rejected') {
      storeFailed = true;
      return { index, status: 503, error: 'cannot write the store; retry later' };
    }
    return itemResult(index, outcome.value!);
  });
  if (storeFailed) options.log.debug(`Cannot keep alerts of a batch from ${peer} in the store; answered 503 for them so the sender retries.`, { event: 'store-error' });
  const accepted = results.filter((r) => r.status === 202).length;
  const answer: BatchAnswer = { accepted, refused: results.length - accepted, results };
  return reply(res, accepted === results.length ? 202 : 207, answer, storeFailed ? { 'retry-after': '5' } : undefined);
}

function itemResult(index: number, admission: Admission): BatchItemResult {
  if (!admission.ok) return { index, status: admission.code === 'recipient' ? 403 : 400, error: admission.error };
  return admission.duplicate ? { index, status: 202, id: admission.id, duplicate: true } : { index, status: 202, id: admission.id };
}
