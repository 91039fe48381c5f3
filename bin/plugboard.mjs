#!/usr/bin/env node
// Plugboard runs its TypeScript sources with no build step: from the precompiled build of src/
// when there is one that matches the sources (`npm run build`; npm's `prepare` makes it, see
// scripts/build.mjs), else through tsx's loader. Both run the same code; the build starts ~1 s
// faster (no loader thread; nothing transpiled or passed between threads per module).
// PLUGBOARD_FROM_SOURCE=1 always runs the sources.
import module from 'node:module';
import { BUILT_MAIN, staleReason } from '../scripts/build-manifest.mjs';

// Node ≥ 22.1 keeps V8's compiled code of every module on disk for the next start (Node 20 has no such cache).
module.enableCompileCache?.();

let entry;
if (process.env.PLUGBOARD_FROM_SOURCE === '1' || staleReason() !== undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = '../src/cli/main.ts';
} else {
  // Stack traces name the .ts files and lines, as under tsx (which turns source maps on too):
  // log lines, and the attribution of stray errors to a plugin or to Plugboard, rely on it.
  process.setSourceMapsEnabled(true);
  entry = BUILT_MAIN;
}
// `plugboard errors | head`: a reader that closed the pipe early is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
// `serve` rebuilds the web UI when its build is missing or stale; nothing there stops the server.
if (process.argv[2] === 'serve') {
  const { refreshWebUi } = await import('./refresh-web-ui.mjs');
  await refreshWebUi();
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
