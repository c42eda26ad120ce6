/**
 * Config files of both programs (the agent's targets, the mailer's
 * channels): read with a size bound, JSON for .json files and text that
 * starts with "{", YAML otherwise (the yaml package is loaded only then).
 * Every problem is a ConfigError whose one line names the file.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from './config.ts';
import { flatten } from './text.ts';

export async function readConfigDocument(path: string, maxBytes: number): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new ConfigError(`config file ${path}: cannot read it (${why}).`);
  }
  if (bytes.length > maxBytes) throw new ConfigError(`config file ${path}: larger than ${maxBytes} bytes.`);
  return parseDocument(path, bytes.toString('utf8'));
}

/** JSON for .json files and text that starts with "{"; YAML otherwise. */
export async function parseDocument(path: string, text: string): Promise<unknown> {
  const body = text.replace(/^\uFEFF/, '');
  const asJson = /\.json$/i.test(path) || (!/\.ya?ml$/i.test(path) && body.trimStart().startsWith('{'));
  if (asJson) {
    try {
      return JSON.parse(body);
    } catch (err) {
      throw new ConfigError(`config file ${path}: not valid JSON: ${flatten((err as Error).message)}.`);
    }
  }
  const { parseYaml } = await import('./yaml-document.ts');
  try {
    return parseYaml(body);
  } catch (err) {
    // yaml's pretty message: "<what> at line 3, column 5:" and then the lines around it.
    const first = ((err as Error).message.split('\n')[0] ?? '').replace(/[:.]\s*$/, '');
    throw new ConfigError(`config file ${path}: not valid YAML: ${flatten(first)}.`);
  }
}
