// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * Loading the configuration (FR-11, FR-12, NFR-5, spec §8.1 and §13.2): the spec's example
 * structure loads as written; defaults; deployment-mode presets and explicit values winning
 * over them; the fallback granularity (an invalid plugin entry rejects only that plugin, an
 * invalid global section falls back to its own defaults); strict mode (from the file, from
 * production mode, from the caller); where the file is looked for (default location,
 * PLUGBOARD_CONFIG, an explicit name) and what happens when it is not there.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_FILE, type LoadedConfig, loadConfig, parseConfig } from '../../src/config/load-config.ts';
import { MODE_PRESETS } from '../../src/config/presets.ts';
import { configFileSchema, GLOBAL_SECTIONS } from '../../src/config/schema.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));

function load(name: string, options: { env?: NodeJS.ProcessEnv; strict?: boolean } = {}): Promise<LoadedConfig> {
  return loadConfig({ file: join(FIXTURES, name), env: {}, ...options });
}

const errorsOf = (loaded: LoadedConfig) => loaded.issues.filter((issue) => issue.severity === 'error');
const warningsOf = (loaded: LoadedConfig) => loaded.issues.filter((issue) => issue.severity === 'warning');
const names = (loaded: LoadedConfig): string[] => loaded.config.plugins.map((plugin) => plugin.name);

describe('spec §8.1 example', () => {
  test('loads as written, without a single issue', async () => {
    const loaded = await load('spec-8.1.yaml');
    assert.deepEqual(loaded.issues, []);
    assert.deepEqual(loaded.rejectedPlugins, []);
    assert.equal(loaded.fatal, false);
    assert.equal(loaded.file, join(FIXTURES, 'spec-8.1.yaml'));
  });

  test('every value it gives is the effective value', async () => {
    const { config } = await load('spec-8.1.yaml');
    assert.equal(config.plugin_manager.enable_hot_reload, false);
    assert.equal(config.plugin_manager.enable_circuit_breaker, true);
    assert.equal(config.plugin_manager.max_concurrent_plugins, 10);
    assert.equal(config.plugin_manager.default_timeout, 30);
    assert.deepEqual(config.hooks, {
      default_timeout: 30,
      max_concurrent_hooks: 10,
      monitoring_queue: 1000,
      circuit_breaker: { failure_threshold: 5, timeout_seconds: 60 },
    });
    assert.deepEqual(config.observability, {
      metrics: { enabled: true },
      logging: { level: 'WARNING', format: 'pretty' },
    });
    assert.deepEqual(config.security, {
      plugin_sandboxing: { enabled: true, max_memory_mb: 256, max_cpu_percent: 25 },
      allowed_imports: [],
      denied_imports: [],
    });
  });

  test('plugins come in section order, with their enabled flag, priority, config and resolved path', async () => {
    const { config } = await load('spec-8.1.yaml');
    assert.deepEqual(
      config.plugins.map(({ name, section, enabled, priority, resolvedPath }) => ({
        name,
        section,
        enabled,
        priority,
        resolvedPath,
      })),
      [
        {
          name: 'ollama',
          section: 'backends',
          enabled: true,
          priority: 'HIGH',
          resolvedPath: join(FIXTURES, 'backends/ollama.ts'),
        },
        {
          name: 'profanity_filter',
          section: 'message_processors',
          enabled: true,
          priority: 'CRITICAL',
          resolvedPath: join(FIXTURES, 'processors/profanity_filter.ts'),
        },
        {
          name: 'web_search',
          section: 'features',
          enabled: false,
          priority: 'NORMAL',
          resolvedPath: join(FIXTURES, 'features/web_search.ts'),
        },
        {
          name: 'rate_limiter',
          section: 'middleware',
          enabled: true,
          priority: 'LOW',
          resolvedPath: join(FIXTURES, 'middleware/rate_limiter.ts'),
        },
        {
          name: 'audit_log',
          section: 'middleware',
          enabled: true,
          priority: 'MONITORING',
          resolvedPath: join(FIXTURES, 'middleware/audit_log.ts'),
        },
      ],
    );
    assert.deepEqual(config.plugins[0]?.config, { base_url: 'http://localhost:11434', model: 'llama3' });
    assert.deepEqual(config.plugins[1]?.config, { words: ['darn', 'heck'] });
    assert.deepEqual(config.plugins[3]?.config, { requests_per_minute: 60 });
  });

  test('plugin_file resolves relative to the config file, not the working directory', async () => {
    const loaded = await loadConfig({ file: 'spec-8.1.yaml', cwd: FIXTURES, env: {} });
    assert.equal(loaded.file, join(FIXTURES, 'spec-8.1.yaml'));
    const elsewhere = await loadConfig({ file: join(FIXTURES, 'spec-8.1.yaml'), cwd: tmpdir(), env: {} });
    assert.equal(elsewhere.config.plugins[0]?.resolvedPath, join(FIXTURES, 'backends/ollama.ts'));
  });

  test('an entry gives enabled: true and an empty config when it says nothing', () => {
    const loaded = parseConfig('features:\n  search:\n    plugin_file: search.ts\n', '/srv/app/config.yaml', {
      env: {},
    });
    assert.deepEqual(loaded.config.plugins, [
      {
        name: 'search',
        section: 'features',
        enabled: true,
        plugin_file: 'search.ts',
        resolvedPath: '/srv/app/search.ts',
        origin: 'file',
        config: {},
      },
    ]);
  });
});

describe('defaults (FR-11.4)', () => {
  test('an empty file gives the built-in defaults with the development presets, and says so', () => {
    const loaded = parseConfig('', '/srv/config.yaml', { env: {} });
    // The rule lets a reload refuse an empty file (a half-written save) instead of removing every plugin.
    assert.deepEqual(
      loaded.issues.map((issue) => [issue.severity, issue.rule]),
      [['warning', 'empty']],
    );
    const expected = {
      mode: 'development',
      strict: false,
      plugin_manager: {
        enable_hot_reload: true,
        enable_circuit_breaker: true,
        max_concurrent_plugins: 10,
        default_timeout: 30,
        plugin_directories: ['.'],
        discover: true,
        max_turns: 8,
        drain_timeout: 30,
        shutdown_timeout: 10,
        health_timeout: 2,
        reload_debounce: 0.2,
      },
      hooks: {
        default_timeout: 30,
        max_concurrent_hooks: 10,
        monitoring_queue: 1000,
        circuit_breaker: { failure_threshold: 5, timeout_seconds: 60 },
      },
      observability: { metrics: { enabled: true }, logging: { level: 'DEBUG', format: 'pretty' } },
      security: {
        plugin_sandboxing: { enabled: false, max_memory_mb: 512, max_cpu_percent: 50 },
        allowed_imports: [],
        denied_imports: [],
      },
      server: {
        host: '127.0.0.1',
        port: 8080,
        body_limit_mb: 16,
        request_timeout: 600,
        shutdown_timeout: 30,
        body_timeout: 30,
        body_min_rate_kb: 32,
        max_pending_bodies: 128,
        limits: { max_messages: 10_000, max_inputs: 2048, max_total_chars: 8_000_000 },
        models_dir: 'models',
        ui: true,
      },
      connections: { data_dir: './data', redis: {}, postgres: {}, sqlite: {} },
      plugins: [],
    };
    assert.deepEqual(loaded.config, expected);
    assert.deepEqual(parseConfig('# only a comment\n', '/srv/config.yaml', { env: {} }).config, expected);
  });

  test('sections written with nothing under them (children commented out) mean their defaults', async () => {
    const loaded = await load('empty-sections.yaml');
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.fatal, false);
    assert.equal(loaded.config.mode, 'production');
    assert.equal(loaded.config.plugin_manager.enable_hot_reload, false);
    assert.equal(loaded.config.hooks.default_timeout, 30);
    assert.deepEqual(loaded.config.plugins, []);
  });

  test('the schema, the sections loaded one by one and the presets agree on the section names', () => {
    const fileKeys = Object.keys(configFileSchema.shape);
    for (const section of Object.keys(GLOBAL_SECTIONS)) assert.ok(fileKeys.includes(section), section);
    for (const preset of Object.values(MODE_PRESETS)) {
      for (const key of Object.keys(preset)) assert.ok(fileKeys.includes(key), key);
    }
  });
});

describe('deployment modes (spec §13.2)', () => {
  test('no mode means development: hot reload on, DEBUG, pretty logs, not strict', () => {
    const { config } = parseConfig('hooks:\n  default_timeout: 5\n', '/srv/config.yaml', { env: {} });
    assert.equal(config.mode, 'development');
    assert.equal(config.strict, false);
    assert.equal(config.plugin_manager.enable_hot_reload, true);
    assert.deepEqual(config.observability.logging, { level: 'DEBUG', format: 'pretty' });
  });

  test('production: strict, INFO, json logs, no hot reload, breakers on', async () => {
    const loaded = await load('production.yaml');
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.fatal, false, 'a valid production file is not fatal');
    const { config } = loaded;
    assert.equal(config.mode, 'production');
    assert.equal(config.strict, true);
    assert.equal(config.plugin_manager.enable_hot_reload, false);
    assert.equal(config.plugin_manager.enable_circuit_breaker, true);
    assert.deepEqual(config.observability.logging, { level: 'INFO', format: 'json' });
    assert.equal(config.plugin_manager.default_timeout, 30, 'keys no preset mentions keep their defaults');
  });

  test('staging: production-like but verbose', () => {
    const { config } = parseConfig('mode: staging\n', '/srv/config.yaml', { env: {} });
    assert.equal(config.strict, false);
    assert.equal(config.plugin_manager.enable_hot_reload, false);
    assert.equal(config.plugin_manager.enable_circuit_breaker, true);
    assert.deepEqual(config.observability.logging, { level: 'DEBUG', format: 'json' });
  });

  test('explicit values win over the production presets, key by key', async () => {
    const { config, issues } = await load('production-overrides.yaml');
    assert.deepEqual(issues, []);
    assert.equal(config.strict, false);
    assert.equal(config.plugin_manager.enable_hot_reload, true);
    assert.deepEqual(config.observability.logging, { level: 'INFO', format: 'pretty' }, 'level still preset');
  });

  test('explicit values win over the development presets, key by key', async () => {
    const { config, issues } = await load('development.yaml');
    assert.deepEqual(issues, []);
    assert.equal(config.plugin_manager.enable_hot_reload, false);
    assert.deepEqual(config.observability.logging, { level: 'ERROR', format: 'pretty' }, 'format still preset');
  });

  test('the mode may come from the environment', () => {
    const { config } = parseConfig('mode: "${PLUGBOARD_MODE:development}"\n', '/srv/config.yaml', {
      env: { PLUGBOARD_MODE: 'production' },
    });
    assert.equal(config.mode, 'production');
    assert.equal(config.strict, true);
  });

  test('a section that falls back keeps its mode’s presets', () => {
    const loaded = parseConfig('mode: production\nobservability:\n  logging:\n    level: LOUD\n', '/srv/c.yaml', {
      env: {},
    });
    assert.deepEqual(loaded.config.observability.logging, { level: 'INFO', format: 'json' });
    const development = parseConfig('plugin_manager:\n  enable_hot_reload: 1\n', '/srv/c.yaml', { env: {} });
    assert.equal(development.config.plugin_manager.enable_hot_reload, true, 'the development preset, not false');
  });
});

describe('fallback granularity (NFR-5)', () => {
  test('an invalid plugin entry rejects only that plugin; the others load', async () => {
    const loaded = await load('granularity.yaml');
    assert.deepEqual(names(loaded), ['ollama', 'search', 'limiter']);
    assert.equal(loaded.rejectedPlugins.length, 1);
    const broken = loaded.rejectedPlugins[0]!;
    assert.equal(broken.name, 'broken');
    assert.equal(broken.section, 'backends');
    assert.deepEqual(
      broken.issues.map(({ line, column, path, plugin }) => ({ line, column, path, plugin })),
      [{ line: 16, column: 15, path: 'backends.broken.priority', plugin: 'broken' }],
    );
  });

  test('an invalid global section falls back to its defaults with a warning; other sections are intact', async () => {
    const loaded = await load('granularity.yaml');
    assert.deepEqual(
      warningsOf(loaded).map(({ line, column, path, message }) => ({ line, column, path, message })),
      [
        {
          line: 4,
          column: 1,
          path: 'hooks',
          message: 'section "hooks" is invalid: using its defaults until it is fixed',
        },
      ],
    );
    const hooksError = errorsOf(loaded).find((issue) => issue.path === 'hooks.max_concurrent_hooks');
    assert.equal(hooksError?.line, 5);
    assert.equal(hooksError?.column, 25);
    // hooks: the valid default_timeout: 7 is dropped with the rest of the section.
    assert.equal(loaded.config.hooks.default_timeout, 30);
    assert.equal(loaded.config.hooks.max_concurrent_hooks, 10);
    // Other sections keep what the file says.
    assert.equal(loaded.config.plugin_manager.enable_hot_reload, false);
    assert.equal(loaded.config.plugin_manager.default_timeout, 12);
    assert.equal(loaded.config.observability.logging.level, 'ERROR');
  });

  test('without strict, errors are not fatal: the caller runs with what is valid', async () => {
    const loaded = await load('granularity.yaml');
    assert.equal(loaded.config.strict, false);
    assert.equal(loaded.fatal, false);
    assert.equal(errorsOf(loaded).length, 2);
  });
});

describe('strict mode', () => {
  test('strict: true in the file makes any error fatal', async () => {
    const loaded = await load('strict-invalid.yaml');
    assert.equal(loaded.config.strict, true);
    assert.equal(loaded.fatal, true);
    assert.deepEqual(
      errorsOf(loaded).map(({ line, column, path }) => ({ line, column, path })),
      [{ line: 5, column: 15, path: 'backends.ollama.priority' }],
    );
  });

  test('production mode is strict', async () => {
    const loaded = await load('production-invalid.yaml');
    assert.equal(loaded.config.strict, true);
    assert.equal(loaded.fatal, true);
  });

  test('options.strict (--strict) makes a non-strict file’s errors fatal', async () => {
    const relaxed = await load('bad-priority.yaml');
    assert.equal(relaxed.fatal, false);
    const strict = await load('bad-priority.yaml', { strict: true });
    assert.equal(strict.fatal, true);
    assert.equal(strict.config.strict, true);
  });

  test('options.strict: false overrides the file and the mode', async () => {
    for (const name of ['strict-invalid.yaml', 'production-invalid.yaml']) {
      const loaded = await load(name, { strict: false });
      assert.equal(loaded.fatal, false, name);
      assert.equal(loaded.config.strict, false, name);
      assert.deepEqual(
        loaded.rejectedPlugins.map((entry) => entry.name),
        ['ollama'],
        name,
      );
    }
  });

  test('strict with no error is not fatal', async () => {
    const loaded = await load('spec-8.1.yaml', { strict: true });
    assert.equal(loaded.fatal, false);
    assert.deepEqual(loaded.issues, []);
  });
});

describe('which file is read', () => {
  let root: string;
  let empty: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'plugboard-load-')));
    empty = join(root, 'empty');
    await mkdir(empty);
    await mkdir(join(root, 'plugins'));
    await writeFile(join(root, 'plugins/config.yaml'), 'mode: staging\n');
    await writeFile(join(root, 'other.yaml'), 'mode: production\n');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('by default, plugins/config.yaml under the working directory', async () => {
    assert.equal(DEFAULT_CONFIG_FILE, 'plugins/config.yaml');
    const loaded = await loadConfig({ cwd: root, env: {} });
    assert.equal(loaded.file, join(root, 'plugins/config.yaml'));
    assert.equal(loaded.config.mode, 'staging');
    assert.deepEqual(loaded.issues, []);
  });

  test('no file at the default location: built-in defaults and a warning, not fatal', async () => {
    const loaded = await loadConfig({ cwd: empty, env: {} });
    assert.equal(loaded.file, undefined);
    assert.equal(loaded.fatal, false);
    assert.deepEqual(loaded.issues, [
      {
        severity: 'warning',
        file: join(empty, 'plugins/config.yaml'),
        path: '',
        message:
          'no configuration file found; running on built-in defaults (create plugins/config.yaml or set PLUGBOARD_CONFIG)',
      },
    ]);
    assert.deepEqual(loaded.config, parseConfig('', undefined, { env: {}, cwd: empty }).config);
  });

  test('no file at the default location is not fatal even in strict mode (it is a warning)', async () => {
    const loaded = await loadConfig({ cwd: empty, env: {}, strict: true });
    assert.equal(loaded.fatal, false);
    assert.equal(loaded.config.strict, true);
  });

  test('an explicitly named file that does not exist is fatal', async () => {
    const loaded = await loadConfig({ file: 'missing.yaml', cwd: root, env: {} });
    assert.equal(loaded.fatal, true);
    assert.deepEqual(loaded.issues, [
      {
        severity: 'error',
        file: join(root, 'missing.yaml'),
        path: '',
        message: 'cannot read the configuration file: ENOENT',
      },
    ]);
  });

  test('PLUGBOARD_CONFIG selects the file (absolute, or relative to the working directory)', async () => {
    const absolute = await loadConfig({ cwd: empty, env: { PLUGBOARD_CONFIG: join(root, 'other.yaml') } });
    assert.equal(absolute.file, join(root, 'other.yaml'));
    assert.equal(absolute.config.mode, 'production');
    const relativeToCwd = await loadConfig({ cwd: root, env: { PLUGBOARD_CONFIG: 'other.yaml' } });
    assert.equal(relativeToCwd.file, join(root, 'other.yaml'));
    assert.equal(relativeToCwd.config.mode, 'production');
  });

  test('PLUGBOARD_CONFIG naming a missing file is fatal, like any explicitly named file', async () => {
    const loaded = await loadConfig({ cwd: root, env: { PLUGBOARD_CONFIG: 'nope.yaml' } });
    assert.equal(loaded.fatal, true);
    assert.equal(loaded.issues[0]?.file, join(root, 'nope.yaml'));
    assert.equal(loaded.issues[0]?.severity, 'error');
  });

  test('options.file (the CLI flag) wins over PLUGBOARD_CONFIG', async () => {
    const loaded = await loadConfig({
      file: 'plugins/config.yaml',
      cwd: root,
      env: { PLUGBOARD_CONFIG: 'other.yaml' },
    });
    assert.equal(loaded.file, join(root, 'plugins/config.yaml'));
    assert.equal(loaded.config.mode, 'staging');
  });

  test('the env given is the one used for substitution', async () => {
    await writeFile(join(root, 'env.yaml'), 'plugin_manager:\n  default_timeout: "${PB_TIMEOUT}"\n');
    const loaded = await loadConfig({ file: join(root, 'env.yaml'), env: { PB_TIMEOUT: '12' } });
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.config.plugin_manager.default_timeout, 12);
  });

  test('without a file, plugin_file paths resolve against cwd', () => {
    const loaded = parseConfig('backends:\n  a:\n    plugin_file: plugins/a.ts\n', undefined, { env: {}, cwd: root });
    assert.equal(loaded.config.plugins[0]?.resolvedPath, join(root, 'plugins/a.ts'));
  });
});
