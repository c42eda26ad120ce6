/**
 * The ledger's write routes (hub-operations.ts), under the silence routes'
 * access rule (access.write: the token, a CSRF token for forms):
 *   POST   /api/v1/incidents/<id>/close   JSON {"comment": "..."}: 200, 404 unknown or closed
 *   DELETE /api/v1/agents/<name>          200, 404 unknown
 *   POST   /incidents/<id>/close, POST /agents/<name>/forget   the page's forms (field csrf), 303
 * Answered once the change is committed; 503 when the store cannot be written.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from './access.ts';
import type { HubOperations } from './hub-operations.ts';
import { decode, header, json, page, redirect } from './http-answers.ts';

const BODY_MAX = 16 * 1024;
const UNWRITABLE = 'cannot write the store; retry later';

export interface LedgerRouteDeps {
  ops: HubOperations;
  access: Access;
  readBody: (req: IncomingMessage, res: ServerResponse, max: number) => Promise<Buffer | undefined>;
  now: () => number;
}

const API_CLOSE = /^\/api\/v1\/incidents\/([^/]+)\/close$/;
const API_AGENT = /^\/api\/v1\/agents\/([^/]+)$/;
const FORM_CLOSE = /^\/incidents\/([^/]+)\/close$/;
const FORM_FORGET = /^\/agents\/([^/]+)\/forget$/;

/** Whether a write to this path is the ledger's. */
export function ledgerWrite(path: string, method: string): boolean {
  return method === 'POST' ? API_CLOSE.test(path) || FORM_CLOSE.test(path) || FORM_FORGET.test(path) : method === 'DELETE' && API_AGENT.test(path);
}

export async function serveLedgerWrite(d: LedgerRouteDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const form = FORM_CLOSE.exec(path) ?? FORM_FORGET.exec(path);
  if (form) {
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return json(req, res, 415, { error: 'send a form (application/x-www-form-urlencoded)' });
    }
    const body = await d.readBody(req, res, BODY_MAX);
    if (body === undefined) return;
    const fields = new URLSearchParams(body.toString('utf8'));
    const verdict = d.access.write(req, fields.get('csrf') ?? '');
    if (!verdict.ok) return page(req, res, verdict.status, `<!doctype html><title>Refused</title><p>${verdict.status === 401 ? 'Log in first.' : 'Refused.'} <a href="/">Back</a></p>`);
    const name = decode(form[1]!);
    const done = name === undefined ? false : await run(() => (FORM_CLOSE.test(path) ? d.ops.closeIncident(name, fields.get('comment') ?? '', d.now()) : d.ops.forgetAgent(name, d.now())));
    if (done === UNWRITABLE) return page(req, res, 503, `<!doctype html><title>Refused</title><p>Not done: ${UNWRITABLE}. <a href="/">Back</a></p>`);
    return redirect(res, FORM_CLOSE.test(path) ? '/#incidents' : '/#agents');
  }
  const verdict = d.access.write(req, header(req, 'x-ch2-csrf'));
  if (!verdict.ok) {
    req.resume();
    return json(req, res, verdict.status, { error: verdict.error });
  }
  const close = API_CLOSE.exec(path);
  if (close) {
    const body = await d.readBody(req, res, BODY_MAX);
    if (body === undefined) return;
    let comment = '';
    if (body.length > 0) {
      let data: unknown;
      try {
        data = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return json(req, res, 400, { error: `body is not valid JSON: ${(err as Error).message}` });
      }
      const c = (data as { comment?: unknown } | null)?.comment;
      if (c !== undefined && typeof c !== 'string') return json(req, res, 400, { error: 'comment must be a string' });
      comment = c ?? '';
    }
    const id = decode(close[1]!);
    const done = id === undefined ? false : await run(() => d.ops.closeIncident(id, comment, d.now()));
    if (done === UNWRITABLE) return json(req, res, 503, { error: UNWRITABLE }, { 'retry-after': '5' });
    return done ? json(req, res, 200, { closed: id }) : json(req, res, 404, { error: 'no such open incident' });
  }
  req.resume();
  const name = decode(API_AGENT.exec(path)![1]!);
  const done = name === undefined ? false : await run(() => d.ops.forgetAgent(name, d.now()));
  if (done === UNWRITABLE) return json(req, res, 503, { error: UNWRITABLE }, { 'retry-after': '5' });
  return done ? json(req, res, 200, { forgotten: name }) : json(req, res, 404, { error: 'no such agent' });
}

async function run(fn: () => Promise<boolean>): Promise<boolean | typeof UNWRITABLE> {
  return fn().catch(() => UNWRITABLE);
}
