/**
 * Hands one report (shared/wire-report.ts, AgentReport v1) to the mailer:
 * one `POST /api/v1/reports` of JSON, gzipped (`content-encoding: gzip`)
 * when it is over GZIP_OVER_BYTES, with the mailer token as for alerts
 * (`Authorization: Bearer`). It goes over mailer-client.ts's post (node:http,
 * one connection per request, the mailer's address kept by keptLookup and
 * forgotten after a failed connection).
 *
 * The outcome says only whether the mailer took it: a 404 means the mailer
 * has no reports path (the book's mailer behind JSON, an older ch2), which
 * resending cannot change (`gone`); anything else that fails is for the
 * reporter to try again at its next interval, with fresh counts. A 400
 * naming an unknown field (`targets[0]: unknown field "certExpiresAt"`: a
 * mailer older than the field) says which (`refused`), so the reporter can
 * send the reports again without it.
 */
import type { LinkEndpoint } from '../../shared/legacy-links.ts';
import { hostPort } from '../../shared/legacy-links.ts';
import { describeFailure, oneLineReason } from '../../shared/net-errors.ts';
import { type AgentReport, REPORTS_PATH } from '../../shared/wire-report.ts';
import { errorText, post } from './mailer-client.ts';

/** A report's JSON over this many bytes goes gzipped. */
export const GZIP_OVER_BYTES = 16 * 1024;

export type ReportOutcome = { ok: true } | { ok: false; gone: boolean; error: string; refused?: string };
export type SendReport = (report: AgentReport, timeoutMs: number) => Promise<ReportOutcome>;

export interface ReportClientOptions {
  mailer: LinkEndpoint;
  /** Bearer token for the mailer; never logged. */
  token?: string;
}

/** The body and its headers: JSON, gzipped when large. */
export async function encodeReport(report: AgentReport): Promise<{ body: string | Buffer; headers: Record<string, string> }> {
  const json = JSON.stringify(report);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (Buffer.byteLength(json) <= GZIP_OVER_BYTES) return { body: json, headers };
  // Loaded only for a large report: most agents never need zlib.
  const { gzip } = process.getBuiltinModule('node:zlib');
  const body = await new Promise<Buffer>((resolve, reject) => gzip(json, (err, out) => (err ? reject(err) : resolve(out))));
  return { body, headers: { ...headers, 'content-encoding': 'gzip' } };
}

export function createReportClient(options: ReportClientOptions): SendReport {
  const where = hostPort(options.mailer);
  return async (report, timeoutMs) => {
    const { body, headers } = await encodeReport(report);
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let status: number;
    let text: string;
    try {
      ({ statusCode: status, text } = await post(options.mailer, REPORTS_PATH, headers, body, timeoutMs));
    } catch (err) {
      return { ok: false, gone: false, error: `mailer unreachable at ${where}: ${describeFailure(err, { timeoutMs, connectTimeoutMs: timeoutMs })}` };
    }
    if (status >= 200 && status < 300) return { ok: true };
    const reason = oneLineReason(errorText(text) ?? `HTTP ${status}`);
    if (status === 404) return { ok: false, gone: true, error: `the mailer at ${where} has no ${REPORTS_PATH} (404: ${reason})` };
    if (status === 401) {
      const hint = options.token === undefined ? 'set --mailer-token (MAILER_TOKEN)' : 'check --mailer-token (MAILER_TOKEN)';
      return { ok: false, gone: false, error: `the mailer at ${where} refused the report (401 unauthorized: ${reason}); ${hint}` };
    }
    const refused = status === 400 ? /unknown field "([A-Za-z]{1,40})"/.exec(reason)?.[1] : undefined;
    return { ok: false, gone: false, error: `the mailer at ${where} answered ${status}: ${reason}`, ...(refused !== undefined ? { refused } : {}) };
  };
}
