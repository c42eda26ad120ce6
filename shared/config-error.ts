/** The error of a configuration problem found at start: the programs print its one line and exit 2 (shared/config.ts). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
