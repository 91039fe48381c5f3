/**
 * Plugin files share the running Plugboard: a plugin that imports Plugboard's public entry
 * points (`src/index.ts`, `src/testing/index.ts`, `src/server/index.ts` — relatively, by absolute
 * path or by `file:` URL, with or without the extension) gets the very modules the server runs,
 * not a copy that jiti evaluates for it. One PlugboardError class, one set of registries, and no
 * ~70 modules evaluated again for every plugin and every reload. The plugin's own code is still
 * evaluated afresh at each load.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadPluginModule } from '../../src/core/plugin/module-loader.ts';
import * as plugboard from '../../src/index.ts';
import * as testing from '../../src/testing/index.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

describe('plugin files import the running Plugboard', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-shared-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Writes a plugin that exports what it imported, loads it, and returns its exports. */
  async function load(file: string, source: string): Promise<Record<string, unknown>> {
    await writeFile(join(dir, file), source);
    return (await loadPluginModule(join(dir, file))) as Record<string, unknown>;
  }

  const specifiers: readonly [string, (entry: string) => string][] = [
    ['a relative path', (entry) => relative(dir, join(SRC, entry))],
    ['an absolute path', (entry) => join(SRC, entry)],
    ['a file: URL', (entry) => pathToFileURL(join(SRC, entry)).href],
    ['a .js extension', (entry) => join(SRC, entry.replace(/\.ts$/, '.js'))],
    ['no extension', (entry) => join(SRC, entry.replace(/\.ts$/, ''))],
  ];
  for (const [form, specifier] of specifiers) {
    test(`through ${form}`, async () => {
      const name = `form-${specifiers.findIndex(([f]) => f === form)}`;
      const path = specifier('index.ts');
      const exported = await load(
        `${name}.plugin.ts`,
        `import { PlugboardError, defineMessageProcessor } from ${JSON.stringify(path.startsWith('/') || path.startsWith('file:') ? path : `./${path}`)};
export default { metadata: { name: '${name}', version: '1.0.0' }, processMessage: (m: unknown) => m, PlugboardError, defineMessageProcessor };`,
      );
      assert.equal(exported.PlugboardError, plugboard.PlugboardError);
      assert.equal(exported.defineMessageProcessor, plugboard.defineMessageProcessor);
    });
  }

  test('the test kit and the server entry points too, and a dynamic import()', async () => {
    const exported = await load(
      'kit.plugin.ts',
      `import { createScriptedBackend } from ${JSON.stringify(join(SRC, 'testing/index.ts'))};
const server = await import(${JSON.stringify(join(SRC, 'server/index.ts'))});
export default { metadata: { name: 'kit', version: '1.0.0' }, createScriptedBackend, server };`,
    );
    assert.equal(exported.createScriptedBackend, testing.createScriptedBackend);
    const server = (await import('../../src/server/index.ts')) as Record<string, unknown>;
    assert.equal(exported.server, server);
  });

  test('an error a plugin throws is the server’s PlugboardError class, not a look-alike', async () => {
    const exported = await load(
      'thrower.plugin.ts',
      `import { PlugboardError } from ${JSON.stringify(join(SRC, 'index.ts'))};
export default { metadata: { name: 'thrower', version: '1.0.0' }, fail: () => new PlugboardError('REQUEST_REJECTED', 'no') };`,
    );
    const error = (exported.fail as () => unknown)();
    assert.equal(Object.getPrototypeOf(error), plugboard.PlugboardError.prototype);
  });

  test('the plugin’s own module is evaluated again at each load (a changed file reloads)', async () => {
    const source = (value: number) =>
      `import { definePlugin } from ${JSON.stringify(join(SRC, 'index.ts'))};
export default definePlugin({ metadata: { name: 'changing', version: '1.0.0' }, value: ${value} } as never);`;
    const first = await load('changing.plugin.ts', source(1));
    const second = await load('changing.plugin.ts', source(2));
    assert.equal(first.value, 1);
    assert.equal(second.value, 2);
    assert.notEqual(first, second);
  });
});
