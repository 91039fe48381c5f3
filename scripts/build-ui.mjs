#!/usr/bin/env node
// Builds the web UI (ui/, Preact + Vite) into dist/ui/: `npm run build:ui`, npm's `prepare`
// (so `npm ci` builds it), and `plugboard serve` when the build is missing or older than ui/
// (scripts/ui-build-state.mjs). The server serves dist/ui at `/` and `/ui/` (src/server/ui).
// Besides Vite's files it writes a .gz and a .br of every text asset, which the server sends
// to clients that accept them (nothing is compressed per request), and a stamp of the sources
// it was built from.
//
// --optional (npm's `prepare`): a failed build warns and exits 0; the server then answers `/`
// with a page that says how to build the UI, and every API works as before.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { UI_OUT_DIR, UI_ROOT, UI_STAMP, uiSourceStamp } from './ui-build-state.mjs';

const COMPRESSIBLE = /\.(js|css|html|svg|json|txt|map)$/;

export async function buildUi({ quiet = false } = {}) {
  const started = performance.now();
  const { build } = await import('vite');
  const stamp = uiSourceStamp();
  await build({ configFile: join(UI_ROOT, 'vite.config.ts'), logLevel: quiet ? 'error' : 'warn' });
  let raw = 0;
  let gzipped = 0;
  for (const file of readdirSync(UI_OUT_DIR, { recursive: true, encoding: 'utf8' })) {
    const path = join(UI_OUT_DIR, file);
    if (!COMPRESSIBLE.test(file) || !statSync(path).isFile()) continue;
    const content = readFileSync(path);
    const gz = gzipSync(content, { level: 9 });
    writeFileSync(`${path}.gz`, gz);
    writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    raw += content.length;
    gzipped += gz.length;
  }
  writeFileSync(UI_STAMP, `${JSON.stringify({ stamp, builtAt: new Date().toISOString() })}\n`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (!quiet)
    console.error(
      `plugboard: built the web UI into dist/ui in ${seconds} s (${kb(raw)} KB, ${kb(gzipped)} KB gzipped)`,
    );
  return { raw, gzipped };
}

function kb(bytes) {
  return (bytes / 1024).toFixed(1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await buildUi();
  } catch (error) {
    const optional = process.argv.includes('--optional');
    console.error(`plugboard: the web UI build failed: ${error.message}`);
    if (optional) console.error('plugboard: the server runs without it; `npm run build:ui` tries again');
    process.exitCode = optional ? 0 : 1;
  }
}
