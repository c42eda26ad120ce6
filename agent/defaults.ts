/** The agent's defaults, in one module every part may import (it imports only the report format's default interval). */

/** The book's names: watch insideweb:80, tell insidemailer:33333. */
export const WEB_ALIAS = 'insideweb';
export const WEB_PORT = 80;
export const MAILER_ALIAS = 'insidemailer';
export const MAILER_PORT = 33333;

/** Most alerts held while the mailer is away (notifier.ts). */
export const DEFAULT_MAX_PENDING = 10_000;

/** The agent's version (--version, and its reports to the mailer). */
export const AGENT_VERSION = '0.1.0';
/** Time between reports to the mailer (--report-every), ms: the report format's default, which the mailer knows too. */
export { DEFAULT_REPORT_EVERY_MS } from '../shared/wire-report.ts';
/** --report-every's range: the mailer reads intervals from 1 s to 1 day (shared/wire-report.ts). */
export const REPORT_EVERY_LIMITS = [1000, 86_400_000] as const;
