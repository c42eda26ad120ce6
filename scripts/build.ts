/**
 * Builds each program with esbuild: dist/agent.mjs and dist/mailer.mjs. The
 * images ship these files and no node_modules. Beside the mailer, its status
 * page's browser script: dist/mailer-page.js (an IIFE, no source map; the
 * mailer serves it from beside its bundle).
 *
 * The agent is split: what it imports lazily (undici for many targets, the
 * YAML parser, pino for --log-format json, the table view, the metrics
 * server) goes into dist/agent-chunks/, loaded only when used. In one file,
 * esbuild keeps a dynamic import's code from running until it is imported, but
 * node still reads and pre-parses all of it at start: with undici inside,
 * that was ~8 MB more RSS at idle and ~20 ms more to the first check.
 * The mailer stays one file.
 *
 * A lazy import of a CommonJS package (pino, yaml, undici) is refused: in a
 * split bundle its chunk exports only `default`, so the named exports the
 * source destructures are undefined (the shipped agent crashed so on
 * --log-format json and refused every YAML config). Import the package
 * statically in a small ESM module and import that lazily instead
 * (shared/pino-lines.ts, shared/yaml-document.ts).
 *
 * Source maps are written beside each file (linked): a stack trace names the
 * TypeScript source when node runs with --enable-source-maps (NODE_OPTIONS).
 *
 * Then the testcontainers module for users' tests (package.json exports
 * `ch2/testcontainers`): dist/testcontainers/index.js, one readable ESM file
 * with `testcontainers` (its peer dependency) left external, and its type
 * declarations from tsc (tsconfig.testcontainers.json), their relative
 * imports rewritten from .ts to .js.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const entries: Record<string, { entry: string; split: boolean; browser?: true }> = {
  agent: { entry: 'agent/main.ts', split: true },
  mailer: { entry: 'mailer/main.ts', split: false },
  // The store's database work, in a worker thread of the mailer (mailer/store/sqlite-store.ts loads it from beside the bundle).
  'mailer-store-worker': { entry: 'mailer/store/sqlite-worker.ts', split: false },
  // The status page's live script (mailer/hub/page/live-client.ts), for the browser.
  'mailer-page': { entry: 'mailer/hub/page/live-client.ts', split: false, browser: true },
};

const only = process.argv.slice(2);
for (const [name, { entry, split, browser }] of Object.entries(entries)) {
  if (only.length > 0 && !only.includes(name.split('-')[0]!)) continue; // the mailer's worker and page script go with the mailer
  if (browser) {
    const out = `dist/${name}.js`;
    const result = await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, legalComments: 'none', metafile: true, logLevel: 'warning' });
    console.log(`${out} ${((result.metafile.outputs[out]?.bytes ?? 0) / 1024).toFixed(0)} KiB`);
    continue;
  }
  const result = await build({
    entryPoints: { [name]: entry },
    ...(split ? { outdir: 'dist', splitting: true, chunkNames: `${name}-chunks/[name]-[hash]` } : { outfile: `dist/${name}.mjs` }),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: false,
    legalComments: 'none',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS dependencies (nodemailer, pino) call require().
    banner: { js: "import { createRequire as __ch2CreateRequire } from 'node:module'; const require = __ch2CreateRequire(import.meta.url);" },
  });
  const inputs = result.metafile.inputs;
  const lazyCommonJs = Object.entries(inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => i.kind === 'dynamic-import' && inputs[i.path]?.format === 'cjs').map((i) => `${file} imports ${i.original ?? i.path} lazily`),
  );
  if (lazyCommonJs.length > 0) {
    console.error(`${name}: a lazy import of CommonJS has only a default export in the bundle; import it statically in an ESM module and import that lazily:\n  ${lazyCommonJs.join('\n  ')}`);
    process.exit(1);
  }
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'));
  const main = outputs.find(([file]) => file === `dist/${name}.mjs`)?.[1].bytes ?? 0;
  const lazy = outputs.reduce((sum, [file, o]) => (file === `dist/${name}.mjs` ? sum : sum + o.bytes), 0);
  console.log(`dist/${name}.mjs ${(main / 1024).toFixed(0)} KiB${split ? ` (+ ${(lazy / 1024).toFixed(0)} KiB loaded on demand in dist/${name}-chunks/)` : ''}`);
}

if (only.length === 0 || only.includes('testcontainers')) {
  const out = 'dist/testcontainers';
  rmSync(out, { recursive: true, force: true });
  await build({ entryPoints: ['testcontainers/index.ts'], outfile: `${out}/index.js`, bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['testcontainers'], legalComments: 'none', logLevel: 'warning' });
  execFileSync('node_modules/.bin/tsc', ['-p', 'tsconfig.testcontainers.json'], { stdio: 'inherit' });
  for (const file of readdirSync(out).filter((f) => f.endsWith('.d.ts'))) {
    const path = join(out, file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/(from '\.\/[\w-]+)\.ts'/g, "$1.js'"));
  }
  console.log(`${out}/index.js ${(readFileSync(`${out}/index.js`).length / 1024).toFixed(0)} KiB (+ type declarations)`);
}
