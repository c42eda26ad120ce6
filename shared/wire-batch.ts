/**
 * Alerts in batches: `POST /api/v1/alerts` with a JSON array of alert objects
 * (Alertmanager's shape: its API takes an array of alerts), each the object
 * `POST /alerts` takes, validated on its own (wire-json.ts). At most
 * BATCH_MAX_ALERTS alerts and BATCH_MAX_BYTES of body; over either, 413.
 *
 * The answer lists every item, by index, in the order sent: 202 with its id
 * (and `duplicate`) when kept, else the status a single POST /alerts would
 * have had (400 invalid, 403 recipient refused, 413 over --max-bytes, 503
 * store unwritable: retry) and the reason. The request's status is 202 when
 * every item was kept, 207 when any was not.
 */
import type { Alert } from './alert.ts';
import { type AlertRequest, encodeAlertJson, validateAlertRequest } from './wire-json.ts';

export const BATCH_ALERTS_PATH = '/api/v1/alerts';
export const BATCH_MAX_ALERTS = 500;
export const BATCH_MAX_BYTES = 1024 * 1024;

/** One item's verdict: the alert, or why it is refused (400 invalid, 413 over --max-bytes). */
export type BatchItemParse = { ok: true; value: AlertRequest } | { ok: false; status: 400 | 413; error: string };

/** A batch whose items are each checked: every item's own verdict, or why the batch as a whole is refused. */
export type BatchParse = { ok: true; items: BatchItemParse[] } | { ok: false; status: 400 | 413; error: string };

/** One item of the answer. */
export type BatchItemResult = { index: number; status: 202; id: string; duplicate?: true } | { index: number; status: number; error: string };

export interface BatchAnswer {
  accepted: number;
  refused: number;
  results: BatchItemResult[];
}

/** Parse the body of `POST /api/v1/alerts`; an item over `maxItemBytes` (--max-bytes, as JSON) is refused on its own. */
export function parseAlertBatch(body: Buffer | string, maxItemBytes = Number.POSITIVE_INFINITY): BatchParse {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, status: 400, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(data)) return { ok: false, status: 400, error: `body must be a JSON array of alerts (one alert: POST /alerts)` };
  if (data.length === 0) return { ok: false, status: 400, error: 'the array holds no alert' };
  if (data.length > BATCH_MAX_ALERTS) return { ok: false, status: 413, error: `a batch takes at most ${BATCH_MAX_ALERTS} alerts, not ${data.length}` };
  const items = data.map((item: unknown): BatchItemParse => {
    const parsed = validateAlertRequest(item);
    if (!parsed.ok) return { ok: false, status: 400, error: parsed.error };
    if (Buffer.byteLength(JSON.stringify(item)) > maxItemBytes) return { ok: false, status: 413, error: `alert over the ${maxItemBytes}-byte limit` };
    return parsed;
  });
  return { ok: true, items };
}

/** The JSON body the agent posts for a batch. */
export function encodeAlertBatch(alerts: readonly Alert[]): string {
  return `[${alerts.map(encodeAlertJson).join(',')}]`;
}

/**
 * Read a batch's answer: per item its result, in the order sent; undefined
 * when the answer does not describe exactly these `count` items.
 */
export function readBatchAnswer(text: string, count: number): BatchItemResult[] | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results) || results.length !== count) return undefined;
  const out: BatchItemResult[] = [];
  for (const [i, r] of results.entries()) {
    const item = r as Record<string, unknown> | null;
    if (typeof item !== 'object' || item === null || item.index !== i || typeof item.status !== 'number') return undefined;
    if (item.status === 202) out.push({ index: i, status: 202, id: String(item.id ?? '') });
    else out.push({ index: i, status: item.status, error: typeof item.error === 'string' ? item.error : `HTTP ${item.status}` });
  }
  return out;
}
