/**
 * The YAML reader of config files (config-document.ts loads this module only for
 * a YAML file). The yaml package is CommonJS under node: it is imported
 * statically here, and this ESM module is what config-document.ts imports lazily.
 * A lazy `import('yaml')` itself, in the agent's split bundle, yields only a
 * `default` export (the named `parse` is undefined): the shipped agent
 * refused every YAML file so. scripts/build.ts now refuses such an import.
 */
import { parse } from 'yaml';

export function parseYaml(text: string): unknown {
  return parse(text, { uniqueKeys: true, prettyErrors: true, maxAliasCount: 1000 });
}
