/**
 * What a check is and what it finds, whatever it checks: the Probe interface
 * (http-probe.ts, tcp-probe.ts implement it), the CheckResult, and the short
 * human reasons for failures ("connection refused", "HTTP 503").
 *
 * A check that could not be made for a reason of the agent's own, not the
 * target's, is `skipped`: no verdict. So far the one reason is 'no_descriptor':
 * no file descriptor for its socket or its name lookup (EMFILE, ENFILE).
 */
import { outOfDescriptors } from '../../shared/open-files.ts';

/** Why a check was made without a verdict (the label of ch2_checks_skipped_total). */
export type SkipReason = 'no_descriptor';

export interface CheckResult {
  ok: boolean;
  /** Why it failed: "connection refused", "timeout after 2000ms", "HTTP 503". */
  reason?: string;
  /** The HTTP status, when the server answered; absent for TCP checks and connection failures. */
  status?: number;
  /** How long the check took, ms. */
  latencyMs: number;
  /** When the check started (ms since the epoch). */
  at: number;
  /** A quick confirming check after a failure (fresh connection, short connect timeout). */
  confirm?: boolean;
  /** How late the check started against its schedule, ms (0 when on time or woken early). */
  lateMs?: number;
  /** No verdict: neither a failure nor a success of the target (ok is false, reason says why). */
  skipped?: SkipReason;
  /** A 3xx answer's Location header (for `follow: true`: http-redirects.ts). */
  location?: string;
  /** https: when the soonest certificate of the answering connection's chain expires (ms since the epoch). */
  certExpiresAt?: number;
}

/** The reason a check failed with `err` is the agent's own (no verdict), or undefined when it is the target's. */
export function skipReasonOf(err: unknown): SkipReason | undefined {
  return outOfDescriptors(err) ? 'no_descriptor' : undefined;
}

export type CheckMode = 'normal' | 'confirm';

export interface Probe {
  /**
   * One check. 'confirm' opens a fresh connection with a short connect timeout
   * (`confirmConnectTimeoutMs`), to confirm a failure quickly.
   */
  check(mode?: CheckMode, confirmConnectTimeoutMs?: number): Promise<CheckResult>;
}

// The reasons' wording is shared with the agent's alerts and the mailer's webhooks.
export { CONNECT_TIMEOUT_CODE, describeFailure, oneLineReason, REASON_MAX_CHARS } from '../../shared/net-errors.ts';
