/**
 * Plugin discovery (FR-2): files are found by naming convention (`*.plugin.*`, `*.middleware.*`),
 * recursively, in a stable sorted order, skipping node_modules and hidden folders; a folder of
 * plugins loads with one bad file never stopping the others, and every problem is reported
 * with its file path and a clear reason (in getPluginStatus().loadErrors and in the log).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createSilentLogger,
  discoverPluginFiles,
  isPlugboardError,
  type Logger,
  PLUGIN_FILE_PATTERN,
  PluginManager,
  type StatusReport,
} from '../../src/index.ts';
import { chatRequest, createScriptedBackend } from '../../src/testing/index.ts';

const ROOT = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));
const VALID = join(ROOT, 'valid');
const BROKEN = join(ROOT, 'broken');

/** Paths relative to `base`, for readable assertions. */
function under(base: string, files: readonly string[]): string[] {
  return files.map((file) => relative(base, file));
}

/** A logger that keeps every entry, to check what is logged. */
function recordingLogger(): Logger & {
  entries: { level: string; fields: Record<string, unknown>; message?: string }[];
} {
  const entries: { level: string; fields: Record<string, unknown>; message?: string }[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const log =
      (level: string) =>
      (fields: Record<string, unknown>, message?: string): void => {
        entries.push({ level, fields: { ...bindings, ...fields }, ...(message === undefined ? {} : { message }) });
      };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { entries });
}

describe('PLUGIN_FILE_PATTERN (FR-2.1)', () => {
  test('matches plugin and middleware files in TypeScript and JavaScript', () => {
    for (const name of [
      'content-filter.plugin.ts',
      'auth.middleware.ts',
      'shout.plugin.mjs',
      'rate-limit.middleware.mjs',
      'legacy.plugin.js',
      'esm.plugin.mts',
      'a.b.c.plugin.ts',
    ]) {
      assert.ok(PLUGIN_FILE_PATTERN.test(name), name);
    }
  });

  test('does not match anything else', () => {
    for (const name of [
      'helpers.ts',
      'content_plugin.ts',
      'plugin.ts',
      'my.plugin.test.ts',
      'types.plugin.d.ts',
      'notes.plugin.md',
      'style.plugin.css',
      'old.plugin.ts.bak',
      'auth.middleware.json',
      'compiled.plugin.cjs',
      'component.plugin.tsx',
    ]) {
      assert.ok(!PLUGIN_FILE_PATTERN.test(name), name);
    }
  });
});

describe('discoverPluginFiles (FR-2.1, FR-2.2)', () => {
  test('finds plugin files recursively, sorted, as absolute paths', async () => {
    const { files, problems } = await discoverPluginFiles(VALID);
    assert.deepEqual(under(VALID, files), [
      'counter.plugin.ts',
      'greeter.plugin.ts',
      'js-shout.plugin.mjs',
      'named-export.plugin.ts',
      'nested/deeper/audit.middleware.ts',
    ]);
    assert.ok(files.every((file) => file.startsWith('/')));
    assert.deepEqual(problems, []);
  });

  test('skips node_modules, hidden folders and files not named by the convention (which do exist)', async () => {
    const skipped = [
      'node_modules/vendor/vendored.plugin.mjs',
      '.hidden/secret.plugin.ts',
      'helpers.ts',
      'legacy_plugin.ts',
    ];
    for (const file of skipped) assert.ok(existsSync(join(VALID, file)), `fixture missing: ${file}`);
    const found = under(VALID, (await discoverPluginFiles(VALID)).files);
    for (const file of skipped) assert.ok(!found.includes(file), `${file} must be skipped`);
  });

  test('scans the whole fixture tree in one stable order', async () => {
    const first = await discoverPluginFiles(ROOT);
    const second = await discoverPluginFiles(ROOT);
    assert.deepEqual(first.files, second.files);
    assert.deepEqual(first.files, [...first.files].sort());
    const found = under(ROOT, first.files);
    assert.ok(found.includes('broken/syntax-error.plugin.mjs'), 'matching files are found whatever their content');
    assert.ok(found.includes('deps/a-consumer.plugin.ts'));
    assert.ok(found.includes('valid/nested/deeper/audit.middleware.ts'));
    assert.ok(!found.some((file) => file.includes('node_modules') || file.includes('/.')));
    assert.ok(found.every((file) => PLUGIN_FILE_PATTERN.test(file)));
    assert.equal(found.length, 17);
  });

  test('a relative directory is resolved against the working directory', async () => {
    const { files } = await discoverPluginFiles(relative(process.cwd(), VALID));
    assert.deepEqual(files, (await discoverPluginFiles(VALID)).files);
  });

  test('a folder that cannot be read is reported with its path and reason, not thrown', async () => {
    const missing = join(ROOT, 'no-such-folder');
    const { files, problems } = await discoverPluginFiles(missing);
    assert.deepEqual(files, []);
    assert.deepEqual(problems, [{ path: missing, reason: 'ENOENT' }]);

    const notAFolder = join(VALID, 'greeter.plugin.ts');
    assert.deepEqual((await discoverPluginFiles(notAFolder)).problems, [{ path: notAFolder, reason: 'ENOTDIR' }]);
  });

  describe('in a folder built at run time', () => {
    let folder = '';
    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'plugboard-discovery-'));
      const files = [
        'z-last.plugin.ts',
        'a-first.middleware.mjs',
        // A folder walk alone would give mod/… before mod-extra…; sorted paths put "-" before "/".
        'mod/inner.plugin.ts',
        'mod-extra.plugin.ts',
        'deep/er/still/found.plugin.ts',
        'deep/node_modules/pkg/skipped.plugin.ts',
        '.git/hooks/skipped.plugin.ts',
        '.cache/skipped.middleware.ts',
        'node_modules/skipped.plugin.ts',
        'not-a-plugin.ts',
        'README.md',
      ];
      for (const file of files) {
        await mkdir(join(folder, file, '..'), { recursive: true });
        await writeFile(join(folder, file), '');
      }
      await mkdir(join(folder, 'folder.plugin.ts')); // a folder named like a plugin is walked, not loaded
      await writeFile(join(folder, 'folder.plugin.ts', 'inner.plugin.ts'), '');
    });
    after(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    test('finds exactly the convention-named files outside skipped folders, in sorted order', async () => {
      const { files, problems } = await discoverPluginFiles(folder);
      assert.deepEqual(under(folder, files), [
        'a-first.middleware.mjs',
        'deep/er/still/found.plugin.ts',
        'folder.plugin.ts/inner.plugin.ts',
        'mod-extra.plugin.ts',
        'mod/inner.plugin.ts',
        'z-last.plugin.ts',
      ]);
      assert.deepEqual(problems, []);
    });
  });
});

describe('loadPluginsFromDirectory (FR-2.3, FR-2.4)', () => {
  const expectedProblems: readonly [string, string, RegExp][] = [
    ['bad-metadata.plugin.ts', 'PLUGIN_INVALID_STRUCTURE', /metadata\.name: .*metadata\.version: .*metadata\.priority/],
    ['missing-method.plugin.ts', 'PLUGIN_INVALID_STRUCTURE', /listModels: missing/],
    ['misspelt-hook.plugin.ts', 'PLUGIN_INVALID_STRUCTURE', /did you mean "onMessageReceived"/],
    ['no-export.plugin.ts', 'PLUGIN_INVALID_STRUCTURE', /no plugin exported/],
    ['syntax-error.plugin.mjs', 'PLUGIN_MODULE_LOAD_FAILED', /could not import the module: .*Unexpected token/],
    ['throwing-factory.plugin.ts', 'PLUGIN_MODULE_LOAD_FAILED', /cannot reach the license server/],
    ['twin.plugin.ts', 'PLUGIN_DUPLICATE_NAME', /a plugin named "survivor" is already loaded from .*good\.plugin\.ts/],
    [
      'wrong-type.plugin.ts',
      'PLUGIN_INVALID_STRUCTURE',
      /processMessage: must be a function, found string "uppercase"/,
    ],
  ];

  test('one bad file never stops the others; each problem is recorded with its file and reason', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    await manager.register(createScriptedBackend());
    const loaded = await manager.loadPluginsFromDirectory(BROKEN);
    assert.deepEqual(loaded, ['survivor', 'also-good']);

    const { loadErrors } = manager.getPluginStatus();
    assert.deepEqual(
      loadErrors.map((problem) => relative(BROKEN, problem.path)),
      expectedProblems.map(([file]) => file),
      'one entry per bad file, in discovery order',
    );
    for (const [file, code, reason] of expectedProblems) {
      const problem = loadErrors.find((entry) => entry.path === join(BROKEN, file));
      assert.ok(problem, file);
      assert.equal(problem.error.code, code, file);
      assert.ok(problem.error.message.startsWith(`${join(BROKEN, file)}: `), `${file}: ${problem.error.message}`);
      assert.match(problem.error.message, reason, file);
    }

    await manager.initialize();
    const plugins = manager.getPluginStatus().plugins;
    assert.deepEqual(Object.keys(plugins).sort(), ['also-good', 'scripted', 'survivor']);
    assert.equal(plugins.survivor?.state, 'ACTIVE');
    assert.equal(plugins.survivor?.version, '1.0.0', 'the first of two same-named files wins');
    assert.equal(plugins['also-good']?.state, 'ACTIVE');
    assert.equal((await manager.chat(chatRequest('still serving'))).message.content, 'You said: still serving');
    await manager.shutdown();
  });

  test('each problem is logged as an error with the file path (FR-2.4)', async () => {
    const logger = recordingLogger();
    const manager = new PluginManager({ logger });
    await manager.loadPluginsFromDirectory(BROKEN);
    const failures = logger.entries.filter((entry) => entry.level === 'error' && entry.fields.operation === 'load');
    assert.deepEqual(
      failures.map((entry) => relative(BROKEN, String(entry.fields.file))),
      expectedProblems.map(([file]) => file),
    );
    for (const entry of failures) {
      assert.equal(entry.fields.success, false);
      assert.ok(typeof entry.fields.error === 'string' && entry.fields.error.startsWith('PLUGIN_'));
      assert.ok(entry.message?.includes(String(entry.fields.file)), 'the message names the file too');
    }
  });

  test('plugins loaded from a folder get their settings by name', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    await manager.register(createScriptedBackend());
    const loaded = await manager.loadPluginsFromDirectory(VALID, {
      greeter: { config: { greeting: 'Salut' }, priority: 'HIGH' },
      'js-shout': { enabled: false },
    });
    assert.deepEqual(loaded, ['counter', 'greeter', 'js-shout', 'house-style', 'audit']);
    assert.deepEqual(manager.getPluginStatus().loadErrors, []);
    await manager.initialize();
    const plugins = manager.getPluginStatus().plugins;
    assert.equal(plugins.greeter?.priority, 'HIGH');
    assert.equal(plugins['js-shout']?.state, 'LOADED');
    assert.equal((await manager.chat(chatRequest('hi'))).message.content, 'Salut! You said: hi');
    await manager.shutdown();
  });

  test('loading while running starts the new plugins; loading the same folder again reports duplicates', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    await manager.register(createScriptedBackend());
    await manager.initialize();
    await manager.loadPluginsFromDirectory(VALID);
    const states = (report: StatusReport) => Object.values(report.plugins).map((plugin) => plugin.state);
    assert.ok(states(manager.getPluginStatus()).every((state) => state === 'ACTIVE'));

    assert.deepEqual(await manager.loadPluginsFromDirectory(VALID), []);
    const { loadErrors } = manager.getPluginStatus();
    assert.equal(loadErrors.length, 5);
    assert.ok(loadErrors.every((problem) => problem.error.code === 'PLUGIN_DUPLICATE_NAME'));
    assert.ok(
      states(manager.getPluginStatus()).every((state) => state === 'ACTIVE'),
      'the loaded ones are untouched',
    );
    await manager.shutdown();
  });

  test('a folder that cannot be read is a load error, not an exception', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    const missing = join(ROOT, 'no-such-folder');
    assert.deepEqual(await manager.loadPluginsFromDirectory(missing), []);
    const { loadErrors } = manager.getPluginStatus();
    assert.equal(loadErrors.length, 1);
    assert.equal(loadErrors[0]?.path, missing);
    assert.equal(loadErrors[0]?.error.code, 'PLUGIN_MODULE_LOAD_FAILED');
    assert.equal(loadErrors[0]?.error.message, `${missing}: cannot read folder (ENOENT)`);
  });

  test('uses the configured pluginDirectory when called without one, and refuses when none is set', async () => {
    const manager = new PluginManager({ logger: createSilentLogger(), pluginDirectory: join(ROOT, 'deps') });
    assert.deepEqual(await manager.loadPluginsFromDirectory(), ['consumer', 'provider']);

    const bare = new PluginManager({ logger: createSilentLogger() });
    await assert.rejects(
      bare.loadPluginsFromDirectory(),
      (error: unknown) => isPlugboardError(error) && /No plugin directory given/.test(error.message),
    );
  });
});
