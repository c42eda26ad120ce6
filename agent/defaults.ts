/** The agent's defaults, in one module every part may import (it imports nothing). */

/** The book's names: watch insideweb:80, tell insidemailer:33333. */
export const WEB_ALIAS = 'insideweb';
export const WEB_PORT = 80;
export const MAILER_ALIAS = 'insidemailer';
export const MAILER_PORT = 33333;

/** Most alerts held while the mailer is away (notifier.ts). */
export const DEFAULT_MAX_PENDING = 10_000;
