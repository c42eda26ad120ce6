/** A JSON answer, for the mailer's own paths (/alerts, /healthz, the agents' reports). */
import type { ServerResponse } from 'node:http';

export function reply(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  const head = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  res.writeHead(status, headers ? { ...head, ...headers } : head);
  res.end(text);
}
