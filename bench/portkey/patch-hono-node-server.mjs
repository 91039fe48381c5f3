/**
 * The one-line patch the Portkey gateway's own repository applies to @hono/node-server 1.13.5
 * (its patches/@hono+node-server+1.13.5.patch; Portkey issues #1389 and #1550): the request
 * listener awaits `responseViaResponseObject`, so that a failure while a streamed response is
 * written is caught there instead of escaping as an unhandled rejection. The published
 * gateway package ships no patches, so this folder's install applies it (postinstall).
 * Patches every copy of the package in node_modules; idempotent; fails when a copy is not the
 * version the patch was made for or the line is not found.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = '1.13.5';
const BEFORE = '      return responseViaResponseObject(res, outgoing, options);';
const AFTER = '      return await responseViaResponseObject(res, outgoing, options);';

/** Every `@hono/node-server` folder under `modules`, nested copies included. */
function copies(modules) {
  if (!existsSync(modules)) return [];
  const found = [];
  for (const entry of readdirSync(modules)) {
    const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((name) => `${entry}/${name}`) : [entry];
    for (const name of names) {
      if (name === '@hono/node-server') found.push(join(modules, name));
      found.push(...copies(join(modules, name, 'node_modules')));
    }
  }
  return found;
}

const folder = dirname(fileURLToPath(import.meta.url));
const targets = copies(join(folder, 'node_modules'));
if (targets.length === 0) throw new Error('@hono/node-server is not installed in node_modules');
for (const root of targets) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (version !== VERSION) {
    throw new Error(`${root} is ${version}; the patch is for ${VERSION} (see "overrides" in package.json)`);
  }
  const file = join(root, 'dist', 'index.mjs');
  const text = readFileSync(file, 'utf8');
  if (text.includes(AFTER)) {
    console.log(`${file}: already patched`);
  } else if (text.split(BEFORE).length === 2) {
    writeFileSync(file, text.replace(BEFORE, AFTER));
    console.log(`${file}: patched (return await responseViaResponseObject)`);
  } else {
    throw new Error(`${file}: the line to patch was not found exactly once: ${BEFORE.trim()}`);
  }
}
