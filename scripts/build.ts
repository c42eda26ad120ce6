/**
 * Builds each program with esbuild: dist/agent.mjs and dist/mailer.mjs. The
 * images ship these files and no node_modules.
 *
 * The agent is split: what it imports lazily (undici for many targets, the
 * YAML parser, pino for --log-format json, the table view, the metrics
 * server) goes into dist/agent-chunks/, loaded only when used. In one file,
 * esbuild keeps a dynamic import's code from running until it is imported, but
 * node still reads and pre-parses all of it at start: with undici inside,
 * that was ~8 MB more RSS at idle and ~20 ms more to the first check.
 * The mailer stays one file.
 */
import { build } from 'esbuild';

const entries: Record<string, { entry: string; split: boolean }> = {
  agent: { entry: 'agent/main.ts', split: true },
  mailer: { entry: 'mailer/main.ts', split: false },
};

const only = process.argv.slice(2);
for (const [name, { entry, split }] of Object.entries(entries)) {
  if (only.length > 0 && !only.includes(name)) continue;
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
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS dependencies (nodemailer, pino) call require().
    banner: { js: "import { createRequire as __ch2CreateRequire } from 'node:module'; const require = __ch2CreateRequire(import.meta.url);" },
  });
  const outputs = Object.entries(result.metafile.outputs);
  const main = outputs.find(([file]) => file === `dist/${name}.mjs`)?.[1].bytes ?? 0;
  const lazy = outputs.reduce((sum, [file, o]) => (file === `dist/${name}.mjs` ? sum : sum + o.bytes), 0);
  console.log(`dist/${name}.mjs ${(main / 1024).toFixed(0)} KiB${split ? ` (+ ${(lazy / 1024).toFixed(0)} KiB loaded on demand in dist/${name}-chunks/)` : ''}`);
}
