/**
 * At start (json protocol), one request tells whether the mailer will take
 * our alerts' credentials, so a wrong `--mailer-token` shows at once rather
 * than at the first outage. It asks `HEAD /api/v1/incidents?state=open&limit=1`
 * of the mailer's status page API: a read with no side effect (no log line
 * on the mailer, nothing kept, no body), under the mailer token when the
 * mailer has one (401 without it or with a wrong one) and open when it has
 * none (200), which is what tells "token wrong" from "no token needed".
 * GET /alerts would too, but a mailer without a token refuses it from any
 * peer but loopback, with a log line at every agent start.
 *
 * One line when something is wrong (the agent goes on; alerts wait and are
 * retried, notifier.ts): a wrong token, a mailer that needs one, a mailer
 * unreachable. Anything else (the status page off: 404; --public-status: 200
 * whatever the token) is a debug line: the first alert then tells.
 */
import { hostPort } from '../../shared/legacy-links.ts';
import type { Logger } from '../../shared/logger.ts';
import { describeFailure } from '../../shared/net-errors.ts';
import { exchange, type MailerEndpoint } from './mailer-transport.ts';

/** The mailer's status page API (mailer/hub/hub-routes.ts): at most one open incident, and with HEAD none at all. */
export const TOKEN_CHECK_PATH = '/api/v1/incidents?state=open&limit=1';

export interface TokenCheckOptions {
  mailer: MailerEndpoint;
  /** Never logged. */
  token: string | undefined;
  log: Pick<Logger, 'debug' | 'warn' | 'error'>;
  timeoutMs?: number;
  /** One of several mailers (--mailer a,b): alerts go to the others meanwhile. */
  several?: boolean;
}

export async function checkMailerToken(options: TokenCheckOptions): Promise<void> {
  const { mailer, token, log } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = hostPort(mailer);
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  let status: number;
  try {
    status = (await exchange(mailer, 'HEAD', TOKEN_CHECK_PATH, headers, undefined, timeoutMs)).statusCode;
  } catch (err) {
    log.warn(`Mailer unreachable at ${where}: ${describeFailure(err, { timeoutMs, connectTimeoutMs: timeoutMs, trustFlag: '--mailer-ca' })}; ${options.several ? 'alerts go to the other mailers meanwhile' : 'alerts wait and are retried until it answers'}.`, { event: 'mailer-check', result: 'unreachable' });
    return;
  }
  if (status === 401 || status === 403) {
    const line =
      token === undefined
        ? `The mailer at ${where} needs a token (${status}): set --mailer-token (MAILER_TOKEN); alerts wait and are retried until it is set.`
        : `The mailer at ${where} refused our token (${status}): check --mailer-token (MAILER_TOKEN); alerts wait and are retried until it is right.`;
    log.error(line, { event: 'mailer-check', result: token === undefined ? 'needs-token' : 'wrong-token', status });
    return;
  }
  log.debug(`Mailer at ${where} answered ${status} to the token check${status === 200 ? '' : ' (cannot tell; the first alert will)'}.`, { event: 'mailer-check', status });
}
