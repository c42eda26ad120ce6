/** A temporary folder of agent config files for one test file, removed after its tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export function configFiles(prefix: string): { dir: string; file: (text: string, ext?: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return {
    dir,
    file(text, ext = 'json') {
      const path = join(dir, `config-${++n}.${ext}`);
      writeFileSync(path, text);
      return path;
    },
  };
}
