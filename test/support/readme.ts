/**
 * The README's fenced code blocks. Each one is preceded by a marker line:
 *   <!-- example: docs/examples/<file> -->   the block is that file, byte for byte,
 *                                            and test/integration/readme-examples runs it
 *   <!-- example: examples/testcontainers/<file> -->  the same, byte for byte; run by
 *                                            test/integration/testcontainers-module
 *   <!-- no-example: <why> -->               not something to run on the images
 * A new example is a new file under docs/examples/, its block in the README with
 * the marker, and one entry in readme-examples.test.ts (which fails until it has one).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  /** docs/examples/… for an example block; undefined for a no-example block or one with no marker. */
  example?: string;
  /** The reason of a no-example marker. */
  noExample?: string;
}

const MARKER = /^<!-- (example: (\S+)|no-example: (.+?)) -->$/;

export function readmeBlocks(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never closes`);
    const marker = MARKER.exec(lines[i - 1] ?? '');
    blocks.push({
      line: i + 1,
      lang: open[1] ?? '',
      text: `${lines.slice(i + 1, end).join('\n')}\n`,
      ...(marker?.[2] ? { example: marker[2] } : {}),
      ...(marker?.[3] ? { noExample: marker[3] } : {}),
    });
    i = end;
  }
  return blocks;
}

/** The text of an example file (the README's block is checked to be the same). */
export function example(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The flags (`--name`) in the "flag"/"flags" columns of the tables of a README section. */
export function tableFlags(heading: string, readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading ${heading} in README.md`);
  const section = readme.slice(start + heading.length + 2).split(/\n## /)[0] ?? '';
  const flags = new Set<string>();
  for (const para of section.split('\n\n')) {
    const rows = para.trim().split('\n').filter((line) => line.startsWith('|')).map((line) => line.split(/(?<!\\)\|/).slice(1, -1));
    const columns = (rows[0] ?? []).flatMap((cell, i) => (/^\s*flags?\s*$/.test(cell) ? [i] : []));
    for (const row of rows.slice(2)) for (const i of columns) for (const m of (row[i] ?? '').matchAll(/`(--[a-z0-9-]+)/g)) flags.add(m[1]!);
  }
  return [...flags];
}

/** One command of a shell example and the output lines shown under it (`# …` lines). */
export interface Step {
  argv: string[];
  expect: string[];
}

/**
 * The steps of a shell example: one command a line, split on spaces (the examples
 * use no quoting), each followed by the `# …` lines it prints.
 */
export function steps(text: string): Step[] {
  const out: Step[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const shown = /^# (.*)$/.exec(line);
    if (shown) {
      const last = out.at(-1);
      if (!last) throw new Error(`output line before any command: ${line}`);
      last.expect.push(shown[1] ?? '');
      continue;
    }
    if (/["'`$\\|;&<>]/.test(line)) throw new Error(`an example command with shell syntax the test cannot run as is: ${line}`);
    out.push({ argv: line.trim().split(/\s+/), expect: [] });
  }
  return out;
}

/** The example's text, after checking that the README shows it. */
export function shown(path: string): string {
  if (!readmeBlocks().some((b) => b.example === path)) throw new Error(`${path} is not in the README`);
  return example(path);
}
