import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The web UI's build: `node scripts/build-ui.mjs` (npm's `prepare`, and `npm start` when the
// build is missing or older than ui/). Served by Plugboard itself: index.html at `/`, every
// asset under `/ui/` (src/server/ui). Nothing is loaded from elsewhere: no CDN, font or script
// of another origin — the server's Content-Security-Policy would refuse it anyway.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Assets inlined as data: URLs would need a looser CSP for some types: keep them files.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    // The one big chunk is Shiki's grammars (≈1.2 MB, ≈180 KB gzipped), loaded only when a reply
    // first holds a code block (src/markdown/highlight.ts); the page itself is ≈66 KB gzipped.
    chunkSizeWarningLimit: 1300,
  },
});
