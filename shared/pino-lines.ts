/**
 * The pino instance behind `--log-format json` (logger.ts loads this module
 * only for that format). pino is CommonJS: it is imported statically here, and
 * this ESM module is what logger.ts imports lazily. A lazy `import('pino')`
 * itself, in the agent's split bundle, yields only a `default` export (the
 * named `pino` is undefined), which crashed the shipped agent at start;
 * scripts/build.ts refuses a lazy import of CommonJS for that reason.
 */
import { pino } from 'pino';

/** JSON lines on stdout: level as a label, ISO time, the program's name. Every level is written: logger.ts filters. */
export function createPinoLines(name: string) {
  return pino({
    name,
    level: 'debug',
    base: { name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
