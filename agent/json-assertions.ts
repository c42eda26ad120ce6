/**
 * A target's `json` key: assertions on fields of a JSON answer, e.g.
 *
 *   json: [{path: "$.status", equals: "UP"}, {path: "$.queue.depth", below: 100}]
 *
 * Paths are a small language of our own: `$`, then `.name` (letters, digits,
 * `_` and `-`) or `[index]` (a whole number) or `["any key"]` (a JSON string),
 * any number of times. Each assertion has its path and one of `equals` (a
 * JSON value, compared deeply), `below` / `above` (a number, strictly) or
 * `exists` (true or false). A failed one is the check's reason, in plain
 * words: `$.status is "DOWN", expected "UP"`.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe } from './setting-values.ts';

export type PathSegment = string | number;

export interface JsonAssertion {
  /** The path as written (reasons show it). */
  path: string;
  segments: readonly PathSegment[];
  test: { equals: unknown } | { below: number } | { above: number } | { exists: boolean };
}

const NAME = /^[A-Za-z0-9_-]+/;
const MAX_ASSERTIONS = 50;
const MAX_PATH = 500;

/** `$.a[0]["b c"]` → ['a', 0, 'b c']; throws an Error with a one-line reason. */
export function parseJsonPath(text: string): PathSegment[] {
  if (text.length > MAX_PATH) throw new Error(`a path longer than ${MAX_PATH} characters`);
  if (!text.startsWith('$')) throw new Error(`a path starts with $ (as $.status), not ${JSON.stringify(text.slice(0, 40))}`);
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest[0] === '.') {
      const name = NAME.exec(rest.slice(1))?.[0];
      if (!name) throw new Error(`expected a name after "." at character ${i + 2} of ${JSON.stringify(text)} (use ["…"] for other keys)`);
      segments.push(name);
      i += 1 + name.length;
    } else if (rest[0] === '[') {
      const index = /^\[(0|[1-9]\d{0,8})\]/.exec(rest);
      const quoted = index ? undefined : /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        i += index[0].length;
      } else if (quoted) {
        try {
          segments.push(JSON.parse(quoted[1]!) as string);
        } catch {
          throw new Error(`a bad quoted key at character ${i + 1} of ${JSON.stringify(text)}`);
        }
        i += quoted[0].length;
      } else {
        throw new Error(`expected [index] or ["key"] at character ${i + 1} of ${JSON.stringify(text)}`);
      }
    } else {
      throw new Error(`expected "." or "[" at character ${i + 1} of ${JSON.stringify(text)}`);
    }
  }
  return segments;
}

/** The config value of `json`: a list of assertions. */
export function jsonAssertionsValue(value: unknown): JsonAssertion[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > MAX_ASSERTIONS) throw new Error(`expected 1 to ${MAX_ASSERTIONS} assertions such as {path: "$.status", equals: "UP"}`);
  return list.map((item, n) => {
    const at = `[${n}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`${at}: expected {path, equals | below | above | exists}, not ${describe(item)}`);
    const { path, ...rest } = item as Record<string, unknown>;
    if (typeof path !== 'string') throw new Error(`${at}: "path" must be a string such as "$.status"`);
    let segments: PathSegment[];
    try {
      segments = parseJsonPath(path.trim());
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`);
    }
    const keys = Object.keys(rest);
    if (keys.length !== 1) throw new Error(`${at}: give exactly one of equals, below, above, exists`);
    const key = keys[0]!;
    const v = rest[key];
    if (key === 'equals') return { path: path.trim(), segments, test: { equals: v } };
    if ((key === 'below' || key === 'above') && typeof v === 'number' && Number.isFinite(v)) return { path: path.trim(), segments, test: key === 'below' ? { below: v } : { above: v } };
    if (key === 'exists' && typeof v === 'boolean') return { path: path.trim(), segments, test: { exists: v } };
    if (key === 'below' || key === 'above' || key === 'exists') throw new Error(`${at}: "${key}" takes ${key === 'exists' ? 'true or false' : 'a number'}, not ${describe(v)}`);
    throw new Error(`${at}: unknown key ${JSON.stringify(key)} (expected equals, below, above or exists)`);
  });
}

const MISSING = Symbol('missing');

function lookup(data: unknown, segments: readonly PathSegment[]): unknown {
  let at: unknown = data;
  for (const s of segments) {
    if (typeof s === 'number') {
      if (!Array.isArray(at) || s >= at.length) return MISSING;
      at = at[s];
    } else {
      if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, s)) return MISSING;
      at = (at as Record<string, unknown>)[s];
    }
  }
  return at;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Why the body fails the assertions, or undefined when it passes them all. */
export function judgeJson(assertions: readonly JsonAssertion[], body: string): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  for (const a of assertions) {
    const value = lookup(data, a.segments);
    const is = value === MISSING ? `${a.path} is missing` : `${a.path} is ${shown(value)}`;
    const t = a.test;
    if ('exists' in t) {
      if ((value !== MISSING) !== t.exists) return t.exists ? is : `${a.path} exists, expected none`;
    } else if (value === MISSING) {
      return `${is}, expected ${'equals' in t ? shown(t.equals) : 'below' in t ? `below ${t.below}` : `above ${t.above}`}`;
    } else if ('equals' in t) {
      if (!isDeepStrictEqual(value, t.equals)) return `${is}, expected ${shown(t.equals)}`;
    } else if ('below' in t) {
      if (typeof value !== 'number' || !(value < t.below)) return `${is}, expected below ${t.below}`;
    } else if (typeof value !== 'number' || !(value > t.above)) {
      return `${is}, expected above ${t.above}`;
    }
  }
  return undefined;
}
