/**
 * The architecture's import rules, read from the sources' import lines:
 * agent/ and mailer/ never import each other, shared/ imports neither, no
 * file imports itself through others (a file cycle), and no folder does
 * (agent/<folder>/ and mailer/<folder>/, with sub-folders counted in theirs;
 * a file directly under agent/ or mailer/ counts on its own).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const PROGRAMS = ['agent', 'mailer', 'shared'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;

/** Each source file with the project files it imports (type-only imports included: they are the design too). */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of PROGRAMS.flatMap(sources)) {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      targets.push(normalize(join(dirname(file), spec)));
    }
    edges.set(file, targets.filter((t) => t.endsWith('.ts')));
  }
  return edges;
}

/** agent/checks/x.ts → agent/checks; mailer/hub/page/y.ts → mailer/hub; agent/main.ts → agent/main.ts. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length <= 2 ? file : parts.slice(0, 2).join('/');
}

/** One cycle of the graph, as its nodes in order, or undefined. */
function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 'open');
    path.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 'open') return [...path.slice(path.indexOf(m)), m];
      if (!state.has(m)) {
        const found = visit(m);
        if (found) return found;
      }
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of edges.keys()) {
    if (state.has(n)) continue;
    const found = visit(n);
    if (found) return found;
  }
  return undefined;
}

test('agent/ and mailer/ never import each other, and shared/ imports neither', () => {
  const bad: string[] = [];
  for (const [file, targets] of graph()) {
    const from = file.split('/')[0];
    for (const t of targets) {
      const to = t.split('/')[0];
      if (to === from || to === 'shared' || to === 'types') continue; // types/: the public .d.ts for channel modules
      bad.push(`${file} imports ${relative(ROOT, join(ROOT, t))}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no import cycle between files', () => {
  const edges = new Map([...graph()].map(([f, ts]) => [f, new Set(ts)]));
  assert.equal(findCycle(edges)?.join(' → '), undefined);
});

test('no import cycle between folders', () => {
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph()) {
    const from = folderOf(file);
    const set = edges.get(from) ?? new Set<string>();
    edges.set(from, set);
    for (const t of targets) if (folderOf(t) !== from) set.add(folderOf(t));
  }
  assert.equal(findCycle(edges)?.join(' → '), undefined);
});

test('the cycle finder finds a cycle of folders (the test can fail)', () => {
  const edges = new Map([
    ['mailer/intake', new Set(['mailer/hub'])],
    ['mailer/hub', new Set(['shared', 'mailer/intake'])],
  ]);
  assert.deepEqual(findCycle(edges), ['mailer/intake', 'mailer/hub', 'mailer/intake']);
});
