/**
 * A PagerDuty-compatible receiver for tests: `POST /v2/enqueue` checked as
 * PagerDuty's Events API v2 documents it ("Send an Alert Event"): a JSON
 * object of routing_key (a 32-character integration key), event_action
 * (trigger, acknowledge, resolve), dedup_key (at most 255 characters; needed
 * by acknowledge and resolve), and for a trigger a payload of summary (1 to
 * 1,024 characters), source, severity (critical, error, warning, info) and
 * the optional timestamp (ISO 8601), component, group, class and
 * custom_details (an object); besides those only images, links, client and
 * client_url. A valid event is answered 202 `{"status":"success","message":
 * "Event processed","dedup_key":…}` (a trigger without one gets a new key),
 * any other 400 `{"status":"invalid event","message":"Event object is
 * invalid","errors":[…]}`. Every request is kept, with its verdict.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PdEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; timestamp?: string; class?: string; custom_details?: Record<string, unknown> };
}

export interface PdRequest {
  at: number;
  path: string;
  body: string;
  /** The event as PagerDuty keyed it (dedup_key filled in), when valid. */
  event?: PdEvent;
  errors: string[];
}

const TOP = new Set(['routing_key', 'event_action', 'dedup_key', 'payload', 'images', 'links', 'client', 'client_url']);
const PAYLOAD = new Set(['summary', 'source', 'severity', 'timestamp', 'component', 'group', 'class', 'custom_details']);
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with an Events API v2 request body (none: a valid event). */
export function eventErrors(contentType: string | undefined, text: string): string[] {
  if (!/^application\/json\b/i.test(contentType ?? '')) return ['Content-Type must be application/json'];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return ['the body is not JSON'];
  }
  if (!isObject(body)) return ['the event must be a JSON object'];
  const errors: string[] = [];
  for (const key of Object.keys(body)) if (!TOP.has(key)) errors.push(`unknown field ${key}`);
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) errors.push('routing_key must be a 32-character integration key');
  const action = body.event_action;
  if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve') errors.push("event_action must be 'trigger', 'acknowledge' or 'resolve'");
  if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length === 0 || body.dedup_key.length > 255)) errors.push('dedup_key must be a string of 1 to 255 characters');
  if ((action === 'acknowledge' || action === 'resolve') && body.dedup_key === undefined) errors.push(`dedup_key is required to ${action}`);
  if (action === 'trigger') {
    const p = body.payload;
    if (!isObject(p)) errors.push('payload is required to trigger');
    else {
      for (const key of Object.keys(p)) if (!PAYLOAD.has(key)) errors.push(`unknown field payload.${key}`);
      if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) errors.push('payload.summary must be a string of 1 to 1024 characters');
      if (typeof p.source !== 'string' || p.source.length === 0) errors.push('payload.source is required');
      if (typeof p.severity !== 'string' || !SEVERITIES.has(p.severity)) errors.push("payload.severity must be 'critical', 'error', 'warning' or 'info'");
      if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) errors.push('payload.timestamp must be an ISO 8601 time');
      for (const key of ['component', 'group', 'class'] as const) if (p[key] !== undefined && typeof p[key] !== 'string') errors.push(`payload.${key} must be a string`);
      if (p.custom_details !== undefined && !isObject(p.custom_details)) errors.push('payload.custom_details must be an object');
    }
  }
  for (const key of ['client', 'client_url'] as const) if (body[key] !== undefined && typeof body[key] !== 'string') errors.push(`${key} must be a string`);
  for (const key of ['images', 'links'] as const) if (body[key] !== undefined && !Array.isArray(body[key])) errors.push(`${key} must be an array`);
  return errors;
}

export interface PagerDutyFake {
  base: string;
  requests: PdRequest[];
  close(): Promise<void>;
}

/** Start the fake on `host` (a docker network's gateway, for a container to reach it), port 0. */
export async function startPagerDutyFake(host = '127.0.0.1'): Promise<PagerDutyFake> {
  const requests: PdRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      const errors = req.method === 'POST' && path === '/v2/enqueue' ? eventErrors(req.headers['content-type'], body) : [`no such endpoint: ${req.method} ${path}`];
      const record: PdRequest = { at: Date.now(), path, body, errors };
      requests.push(record);
      if (errors.length > 0) {
        res.writeHead(path === '/v2/enqueue' ? 400 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }));
        return;
      }
      const event = JSON.parse(body) as PdEvent;
      event.dedup_key ??= randomUUID().replace(/-/g, '');
      record.event = event;
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: event.dedup_key }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    base: `http://${host}:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
