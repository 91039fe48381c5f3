// Where the web UI's sources and build are, and whether the build matches the sources.
// Cheap (a walk of ui/'s file times, no import of Vite): `plugboard serve` asks it at every
// start, and builds only when the answer is "missing" or "stale".
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const UI_ROOT = join(ROOT, 'ui');
export const UI_OUT_DIR = join(ROOT, 'dist', 'ui');
export const UI_STAMP = join(UI_OUT_DIR, '.build-stamp.json');

/** A fingerprint of ui/'s sources: every file's path, size and modification time. */
export function uiSourceStamp() {
  const parts = [];
  for (const file of readdirSync(UI_ROOT, { recursive: true, encoding: 'utf8' }).sort()) {
    if (file.includes('node_modules') || file.endsWith('.test.ts')) continue;
    const stat = statSync(join(UI_ROOT, file));
    if (stat.isFile()) parts.push(`${file}:${stat.size}:${Math.trunc(stat.mtimeMs)}`);
  }
  return parts.join('|');
}

/**
 * Why the UI should be built before serving, or undefined when the build is current.
 * Without ui/ (an install that left it out) there is nothing to build: undefined.
 */
export function uiBuildNeeded() {
  if (!existsSync(UI_ROOT)) return undefined;
  if (!existsSync(join(UI_OUT_DIR, 'index.html')) || !existsSync(UI_STAMP)) return 'missing';
  try {
    const { stamp } = JSON.parse(readFileSync(UI_STAMP, 'utf8'));
    return stamp === uiSourceStamp() ? undefined : 'stale';
  } catch {
    return 'missing';
  }
}
