/**
 * The body of `POST /api/v1/reports` (shared/wire-report.ts) to an answer:
 * gunzipped when `content-encoding: gzip`, bounded to REPORT_MAX_BYTES
 * decompressed (zlib's maxOutputLength: a gzip bomb stops there and is a
 * 413), parsed by parseReport (a report it cannot read is a 400 with the
 * reason), then handed to the hub: 202 {"ok": true}. Never throws.
 */
import { gunzip } from 'node:zlib';
import { type AgentReport, parseReport, REPORT_MAX_BYTES } from '../../shared/wire-report.ts';
import type { AgentView } from './agents.ts';

/** The hub as its HTTP routes see it: takes reports (an error string when refused), lists agents. */
export interface ReportReceiver {
  report(report: AgentReport): string | undefined;
  agents(): AgentView[];
}

export interface ReportAnswer {
  status: 202 | 400 | 413 | 415;
  body: { ok: true } | { error: string };
}

function gunzipBounded(body: Buffer, max: number): Promise<Buffer | 'too-large' | 'bad'> {
  return new Promise((resolve) => {
    gunzip(body, { maxOutputLength: max }, (err, out) => {
      if (err) resolve((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'bad');
      else resolve(out);
    });
  });
}

export async function acceptReport(body: Buffer, encoding: string | undefined, hub: ReportReceiver, max = REPORT_MAX_BYTES): Promise<ReportAnswer> {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  let text = body;
  if (coding === 'gzip' || coding === 'x-gzip') {
    const out = await gunzipBounded(body, max);
    if (out === 'too-large') return { status: 413, body: { error: `report over the ${max}-byte limit once decompressed` } };
    if (out === 'bad') return { status: 400, body: { error: 'body is not valid gzip' } };
    text = out;
  } else if (coding !== 'identity' && coding !== '') {
    return { status: 415, body: { error: 'content-encoding must be gzip or none' } };
  }
  const parsed = parseReport(text);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error.replace(/[\r\n]+/g, ' ') } };
  const refused = hub.report(parsed.value);
  if (refused !== undefined) return { status: 400, body: { error: refused } };
  return { status: 202, body: { ok: true } };
}
