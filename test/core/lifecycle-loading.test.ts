/**
 * Loading plugins from files (FR-1.1): TypeScript with no build step and plain .mjs; a default
 * export (object, class or factory) or a named `plugin` export; clear errors for files that
 * cannot be imported or export no plugin; reloading a changed file; and plugins loaded from
 * files working in a real request.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPluginModule } from '../../src/core/plugin/module-loader.ts';
import {
  createSilentLogger,
  isPlugboardError,
  PlugboardError,
  PluginManager,
  type PluginStatus,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend } from '../../src/testing/index.ts';

const VALID = fileURLToPath(new URL('../fixtures/plugins/valid/', import.meta.url));
const BROKEN = fileURLToPath(new URL('../fixtures/plugins/broken/', import.meta.url));

function newManager(): PluginManager {
  return new PluginManager({ logger: createSilentLogger() });
}

function statusOf(manager: PluginManager, name: string): PluginStatus {
  const status = manager.getPluginStatus().plugins[name];
  assert.ok(status, `no status for plugin "${name}"`);
  return status;
}

describe('loadPlugin: every supported export form', () => {
  const forms: readonly [string, string, string, readonly string[]][] = [
    ['a default-exported object (TypeScript, zod schema)', 'greeter.plugin.ts', 'greeter', ['message-processor']],
    ['a default-exported class', 'counter.plugin.ts', 'counter', []],
    ['an async factory function in a nested folder', 'nested/deeper/audit.middleware.ts', 'audit', ['middleware']],
    ['a named `plugin` export', 'named-export.plugin.ts', 'house-style', ['feature-extension']],
    ['a plain JavaScript .mjs file', 'js-shout.plugin.mjs', 'js-shout', ['message-processor']],
  ];
  for (const [label, file, name, kinds] of forms) {
    test(`${label}: ${file}`, async () => {
      const manager = newManager();
      const path = `${VALID}${file}`;
      assert.equal(await manager.loadPlugin(path), name);
      const loaded = statusOf(manager, name);
      assert.equal(loaded.state, 'LOADED');
      assert.equal(loaded.source, path);
      assert.deepEqual([...loaded.kinds], kinds);
      assert.equal(loaded.transitions[0]?.reason, `loading ${path}`, 'the file is named in the first transition');
      await manager.initialize();
      assert.equal(statusOf(manager, name).state, 'ACTIVE');
      await manager.shutdown();
      assert.equal(statusOf(manager, name).state, 'UNLOADED');
    });
  }

  test('a class export is instantiated, a factory called, an object used as is', async () => {
    const counter = await loadPluginModule(`${VALID}counter.plugin.ts`);
    assert.equal(typeof counter, 'object');
    assert.equal((counter as object).constructor.name, 'RequestCounter');
    const audit = (await loadPluginModule(`${VALID}nested/deeper/audit.middleware.ts`)) as {
      metadata: { name: string };
    };
    assert.equal(audit.metadata.name, 'audit');
    const shout = (await loadPluginModule(`${VALID}js-shout.plugin.mjs`)) as { metadata: { version: string } };
    assert.equal(shout.metadata.version, '0.3.0');
  });

  test('register() accepts a class and a factory as values too', async () => {
    class Hooked {
      readonly metadata = { name: 'hooked', version: '1.0.0' };
      onStartup() {}
    }
    const manager = newManager();
    assert.equal(await manager.register(Hooked), 'hooked');
    assert.equal(
      await manager.register(async () => ({
        metadata: { name: 'made', version: '1.0.0' },
        processMessage: (message: unknown) => message,
      })),
      'made',
    );
    await manager.initialize();
    assert.equal(statusOf(manager, 'hooked').state, 'ACTIVE');
    assert.deepEqual(statusOf(manager, 'hooked').hooks, ['startup']);
    assert.equal(statusOf(manager, 'made').state, 'ACTIVE');
    await manager.shutdown();
  });

  test('loadPlugin while running starts the plugin at once, with the given settings', async () => {
    const manager = newManager();
    await manager.register(createScriptedBackend());
    await manager.initialize();
    await manager.loadPlugin(`${VALID}greeter.plugin.ts`, { config: { greeting: 'Ahoy' }, priority: 'HIGH' });
    assert.equal(statusOf(manager, 'greeter').state, 'ACTIVE');
    assert.equal(statusOf(manager, 'greeter').priority, 'HIGH');
    assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'Ahoy! You said: hi');
    await manager.shutdown();
  });

  test('a file plugin with invalid config is kept in ERROR with PLUGIN_CONFIG_INVALID naming the key', async () => {
    const manager = newManager();
    assert.equal(await manager.loadPlugin(`${VALID}greeter.plugin.ts`, { config: { greeting: '' } }), 'greeter');
    const status = statusOf(manager, 'greeter');
    assert.equal(status.state, 'ERROR');
    assert.equal(status.lastError?.code, 'PLUGIN_CONFIG_INVALID');
    assert.match(status.lastError?.message ?? '', /greeting: /);
  });
});

describe('plugins loaded from files work in a request', () => {
  test('object, class, factory, named and .mjs plugins all take part', async () => {
    const backend = createScriptedBackend();
    const manager = newManager();
    await manager.register(backend);
    await manager.loadPluginsFromDirectory(VALID, { greeter: { config: { greeting: 'Hey' } } });
    await manager.initialize();

    const response = await manager.chat(chatRequest('hi'));
    assert.equal(response.message.content, 'HEY! YOU SAID: HI', 'greeter (config from settings), then js-shout');
    assert.equal(response.metadata.audited, true, 'the factory-made middleware ran');
    assert.equal(backend.calls[0]?.messages[0]?.content, 'Answer briefly.', 'the named-export extension ran');

    const health = await manager.getHealth();
    assert.deepEqual(
      health.plugins.counter?.health.details,
      { requests: 1, priority: 'LOW' },
      'the class kept `this` in its hook, initialize and healthCheck (priority from its metadata)',
    );
    await manager.shutdown();
  });

  test('errors a file plugin builds with the copy of Plugboard it imports are recognised (reject())', async () => {
    const manager = newManager();
    await manager.register(createScriptedBackend());
    await manager.loadPlugin(`${VALID}nested/deeper/audit.middleware.ts`);
    await manager.initialize();
    await assert.rejects(manager.chat(chatRequest('forbidden')), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'REQUEST_REJECTED'), `expected REQUEST_REJECTED, got ${error}`);
      assert.equal(error.status, 403);
      assert.equal(error.message, 'audit: this request is not allowed');
      return true;
    });
    await manager.shutdown();
  });
});

describe('loadPlugin: files that are not plugins', () => {
  async function loadError(file: string): Promise<PlugboardError> {
    const manager = newManager();
    try {
      await manager.loadPlugin(file);
    } catch (error) {
      assert.ok(error instanceof PlugboardError, `expected a PlugboardError, got ${error}`);
      assert.deepEqual(Object.keys(manager.getPluginStatus().plugins), [], 'nothing is registered');
      return error;
    }
    assert.fail(`${file} loaded`);
  }

  test('a syntax error → PLUGIN_MODULE_LOAD_FAILED naming the file and where', async () => {
    const path = `${BROKEN}syntax-error.plugin.mjs`;
    const error = await loadError(path);
    assert.equal(error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.ok(error.message.startsWith(`${path}: could not import the module: `), error.message);
    assert.match(error.message, /Unexpected token/);
    assert.ok(error.message.includes(`${path}:5`), `the line is given: ${error.message}`);
    assert.equal(error.details?.file, path);
    assert.ok(error.cause instanceof Error, 'the original error is kept as the cause');
  });

  test('a file that does not exist → PLUGIN_MODULE_LOAD_FAILED naming it', async () => {
    const path = `${VALID}does-not-exist.plugin.ts`;
    const error = await loadError(path);
    assert.equal(error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.ok(error.message.startsWith(`${path}: could not import the module`), error.message);
  });

  test('no plugin exported → PLUGIN_INVALID_STRUCTURE listing what the module does export', async () => {
    const path = `${BROKEN}no-export.plugin.ts`;
    const error = await loadError(path);
    assert.equal(error.code, 'PLUGIN_INVALID_STRUCTURE');
    assert.equal(
      error.message,
      `${path}: no plugin exported — export it as default (or as "plugin"); the module exports VERSION, helper`,
    );
    assert.deepEqual(error.details, { file: path, exports: ['VERSION', 'helper'] });
  });

  test('a factory that throws → PLUGIN_MODULE_LOAD_FAILED with the cause', async () => {
    const path = `${BROKEN}throwing-factory.plugin.ts`;
    const error = await loadError(path);
    assert.equal(error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.ok(error.message.startsWith(`${path}: constructing the plugin`), error.message);
    assert.match(error.message, /cannot reach the license server/);
  });

  test('a second file with a loaded name → PLUGIN_DUPLICATE_NAME naming both files', async () => {
    const manager = newManager();
    await manager.loadPlugin(`${BROKEN}good.plugin.ts`);
    await assert.rejects(manager.loadPlugin(`${BROKEN}twin.plugin.ts`), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'PLUGIN_DUPLICATE_NAME'));
      assert.equal(
        error.message,
        `${BROKEN}twin.plugin.ts: a plugin named "survivor" is already loaded from ${BROKEN}good.plugin.ts`,
      );
      return true;
    });
    assert.equal(statusOf(manager, 'survivor').version, '1.0.0', 'the first one stays');
  });
});

describe('loadPlugin: files written at run time', () => {
  let folder = '';
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'plugboard-loading-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const pluginSource = (version: string, reply: string) => `export default {
  metadata: { name: 'hot', version: '${version}' },
  direction: 'output',
  processMessage: (message) => ({ ...message, content: '${reply}' }),
};
`;

  test('a changed file is read again when reloaded (no stale module cache)', async () => {
    const path = join(folder, 'hot.plugin.mjs');
    await writeFile(path, pluginSource('1.0.0', 'first'));
    const manager = newManager();
    await manager.register(createScriptedBackend());
    await manager.initialize();
    await manager.loadPlugin(path);
    assert.equal((await manager.chat(chatRequest('x'))).message.content, 'first');

    await writeFile(path, pluginSource('2.0.0', 'second'));
    await manager.unloadPlugin('hot');
    await manager.loadPlugin(path);
    assert.equal(statusOf(manager, 'hot').version, '2.0.0');
    assert.equal((await manager.chat(chatRequest('x'))).message.content, 'second');
    await manager.shutdown();
  });

  test('a .js file in a "type": "module" package is read again when reloaded too', async () => {
    const packageFolder = join(folder, 'esm-package');
    await mkdir(packageFolder);
    await writeFile(join(packageFolder, 'package.json'), '{ "type": "module" }\n');
    const path = join(packageFolder, 'hot.plugin.js');
    await writeFile(path, pluginSource('1.0.0', 'first'));
    const first = (await loadPluginModule(path)) as { metadata: { version: string } };
    await writeFile(path, pluginSource('2.0.0', 'second'));
    const second = (await loadPluginModule(path)) as { metadata: { version: string } };
    assert.deepEqual([first.metadata.version, second.metadata.version], ['1.0.0', '2.0.0']);
  });

  test('a CommonJS .js file exporting the plugin as module.exports loads', async () => {
    const path = join(folder, 'common.plugin.js');
    await writeFile(
      path,
      "module.exports = { metadata: { name: 'common', version: '1.0.0' }, processMessage: (message) => message };\n",
    );
    const manager = newManager();
    assert.equal(await manager.loadPlugin(path), 'common');
  });

  test('a relative path is resolved against the working directory', async () => {
    const manager = newManager();
    const relativePath = relative(process.cwd(), `${VALID}js-shout.plugin.mjs`);
    assert.ok(!relativePath.startsWith('/'));
    assert.equal(await manager.loadPlugin(relativePath), 'js-shout');
    assert.equal(await manager.loadPlugin(`./${relative(process.cwd(), `${VALID}counter.plugin.ts`)}`), 'counter');
  });

  test('a default export that is not an object or function is rejected, naming the file and what was found', async () => {
    const path = join(folder, 'number.plugin.mjs');
    await writeFile(path, 'export default 42;\n');
    const manager = newManager();
    await assert.rejects(manager.loadPlugin(path), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'PLUGIN_INVALID_STRUCTURE'));
      assert.equal(error.message, `${path}: expected a plugin object, found number 42`);
      return true;
    });
  });

  test('a TypeScript file with types and no build step loads', async () => {
    const path = join(folder, 'typed.plugin.ts');
    await writeFile(
      path,
      `interface Shape { readonly name: string }
const shape: Shape = { name: 'typed' };
enum Mode { Loud = 'LOUD' }
export default {
  metadata: { name: shape.name, version: '1.0.0' as const },
  processMessage<T extends { content: string }>(message: T): T {
    return { ...message, content: \`\${Mode.Loud}:\${message.content}\` };
  },
};
`,
    );
    const manager = newManager();
    assert.equal(await manager.loadPlugin(path), 'typed');
    assert.deepEqual([...statusOf(manager, 'typed').kinds], ['message-processor']);
  });
});
