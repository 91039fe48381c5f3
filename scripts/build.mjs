#!/usr/bin/env node
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
// Precompiles src/ for a fast start: `npm run build`, and npm's `prepare` (so `npm ci` and
// `npm install` run it). Each src/**/*.ts becomes dist/src/**/*.js — file by file, the same
// layout, imports of `./x.ts` rewritten to `./x.js` — with a source map. bin/plugboard.mjs runs
// this build when it matches the sources (scripts/build-manifest.mjs), else the TypeScript
// sources through tsx as before. Plugins are not part of it: jiti loads them from their own
// files, with no build step, and they share the server's modules (src/core/plugin/module-loader.ts).
//
// What keeps the build equivalent to the sources:
// - one module per source file: the same module graph, evaluated in the same order;
// - `import.meta.url` is the source file's URL, so paths computed from it (package.json, the
//   first-party plugins folder, Plugboard's own source folder for stray errors) are the ones the
//   sources compute;
// - source maps (enabled by bin/plugboard.mjs, as tsx does) make stack traces name the .ts
//   files and lines, which stray-error attribution and every log line rely on;
// - the transform is esbuild's, as tsx's is (the tsconfig has isolatedModules and
//   verbatimModuleSyntax: each file compiles on its own).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSources, MANIFEST, manifestFor, OUT_DIR, ROOT, sourceStamps } from './build-manifest.mjs';

const IMPORT_META_URL = '__plugboardSourceUrl';

try {
  await buildAll();
} catch (error) {
  // --optional (npm's `prepare`): a failed build warns and exits 0. bin/plugboard.mjs then runs
  // the sources through tsx, so an install never fails for it.
  const optional = process.argv.includes('--optional');
  console.error(`plugboard: the build failed: ${error.message}`);
  if (optional)
    console.error('plugboard: bin/plugboard.mjs will run the TypeScript sources through tsx (slower start)');
  process.exitCode = optional ? 0 : 1;
}

async function buildAll() {
  const started = performance.now();
  // esbuild as tsx, which depends on it, resolves it (it is no direct dependency of Plugboard).
  const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  const { build } = requireFromTsx('esbuild');
  const sources = buildSources();
  // Stamped before compiling: a source edited during the build leaves the build stale, not wrong.
  const stamps = sourceStamps(sources);

  rmSync(MANIFEST, { force: true });
  rmSync(join(OUT_DIR, 'src'), { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outdir: OUT_DIR,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20.19', // package.json's engines
    // "Bundle" only to see every import: each one is left external (see the plugin below), so
    // every source file stays its own module.
    bundle: true,
    sourcemap: 'linked',
    sourcesContent: false,
    charset: 'utf8',
    logLevel: 'warning',
    define: { 'import.meta.url': IMPORT_META_URL },
    plugins: [
      {
        name: 'plugboard-file-by-file',
        setup(esbuild) {
          esbuild.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            // Relative imports of sources: the compiled file next to this one.
            if (/^\.\.?\//.test(args.path)) return { path: args.path.replace(/\.ts$/, '.js'), external: true };
            return { path: args.path, external: true };
          });
          esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
            // The source file's own URL where the code asks for its module's URL (see `define`),
            // declared on the first line, before any use, without shifting lines (source maps).
            const url = JSON.stringify(pathToFileURL(args.path).href);
            return { contents: `const ${IMPORT_META_URL} = ${url}; ${source}`, loader: 'ts' };
          });
        },
      },
    ],
  });
  if (result.errors.length > 0) throw new Error(`${result.errors.length} error(s)`);

  writeFileSync(MANIFEST, `${JSON.stringify(manifestFor(stamps))}\n`);
  console.log(
    `plugboard: built ${sources.length} modules of src/ into dist/src in ${Math.round(performance.now() - started)} ms`,
  );
}
