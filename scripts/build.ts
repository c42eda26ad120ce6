/**
 * Builds each program into one ESM bundle with esbuild: dist/agent.mjs and
 * dist/mailer.mjs. The images ship these files and no node_modules.
 */
import { build } from 'esbuild';

const entries: Record<string, string> = {
  agent: 'agent/main.ts',
  mailer: 'mailer/main.ts',
};

const only = process.argv.slice(2);
for (const [name, entry] of Object.entries(entries)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const result = await build({
    entryPoints: [entry],
    outfile: `dist/${name}.mjs`,
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
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  console.log(`dist/${name}.mjs ${(bytes / 1024).toFixed(0)} KiB`);
}
