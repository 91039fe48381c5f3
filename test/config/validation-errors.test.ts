// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * Every validation error path of the configuration loader (FR-11.3, FR-12.4), each with its
 * exact file:line:column, its key path, and what was expected and found: missing required
 * variables, wrong types, unknown keys with "did you mean" (top level, in a section, in a plugin
 * entry), bad priorities, plugin_file paths escaping the plugin directories (`..`, absolute,
 * look-alike prefixes, symlinks), entries without a source, duplicate plugin names, YAML
 * syntax errors and duplicate keys, a default_backend that does not exist.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUILTIN_PLUGINS } from '../../src/config/builtin-plugins.ts';
import type { ConfigIssue } from '../../src/config/config-issue.ts';
import { type LoadedConfig, loadConfig, parseConfig } from '../../src/config/load-config.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));

function load(name: string, env: NodeJS.ProcessEnv = {}): Promise<LoadedConfig> {
  return loadConfig({ file: join(FIXTURES, name), env });
}

interface Located {
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly path: string;
  readonly message: string;
}

/** The issues of one severity, as location + path + message, sorted by position. */
function located(loaded: LoadedConfig, severity: ConfigIssue['severity'] = 'error'): Located[] {
  return loaded.issues
    .filter((issue) => issue.severity === severity)
    .map(({ line, column, path, message }) => ({ line, column, path, message }))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

const names = (loaded: LoadedConfig): string[] => loaded.config.plugins.map((plugin) => plugin.name);
const rejected = (loaded: LoadedConfig): string[] => loaded.rejectedPlugins.map((entry) => entry.name);

const PRIORITY_CHOICES = 'expected one of "CRITICAL", "HIGH", "NORMAL", "LOW", "MONITORING"';

describe('missing required variables', () => {
  test('each is an error naming the variable at its file:line:col; the plugin using it is rejected', async () => {
    const loaded = await load('missing-variable.yaml');
    const file = join(FIXTURES, 'missing-variable.yaml');
    const openai = loaded.issues.find((issue) => issue.path === 'backends.openai.config.api_key');
    assert.deepEqual(openai, {
      severity: 'error',
      file,
      line: 7,
      column: 16,
      path: 'backends.openai.config.api_key',
      message: 'environment variable OPENAI_API_KEY is not set (use ${OPENAI_API_KEY:default} to give a default)',
      plugin: 'openai',
      rule: 'env-missing',
    });
    const level = loaded.issues.find(
      (issue) => issue.path === 'observability.logging.level' && /LOG_LEVEL/.test(issue.message),
    );
    assert.equal(level?.line, 14);
    assert.equal(level?.column, 12);
    assert.equal(
      level?.message,
      'environment variable LOG_LEVEL is not set (use ${LOG_LEVEL:default} to give a default)',
    );
    assert.deepEqual(rejected(loaded), ['openai']);
    assert.deepEqual(loaded.rejectedPlugins[0]?.issues, [openai]);
    assert.deepEqual(names(loaded), ['ollama'], 'the other backend, whose variable has a default, loads');
    assert.deepEqual(loaded.config.plugins[0]?.config, { base_url: 'http://localhost:11434' });
  });

  test('the section whose variable is missing falls back to its defaults with a warning at the section', async () => {
    const loaded = await load('missing-variable.yaml');
    assert.deepEqual(located(loaded, 'warning'), [
      {
        line: 12,
        column: 1,
        path: 'observability',
        message: 'section "observability" is invalid: using its defaults until it is fixed',
      },
    ]);
    // Development presets (the default mode), not the file's `format: json`.
    assert.deepEqual(loaded.config.observability.logging, { level: 'DEBUG', format: 'pretty' });
    assert.equal(loaded.config.plugin_manager.default_timeout, 5, 'other sections keep their values');
  });

  test('with the variables set, the same file has no issue at all', async () => {
    const loaded = await load('missing-variable.yaml', { OPENAI_API_KEY: 'sk-1', LOG_LEVEL: 'ERROR' });
    assert.deepEqual(loaded.issues, []);
    assert.deepEqual(names(loaded), ['openai', 'ollama']);
    assert.deepEqual(loaded.config.observability.logging, { level: 'ERROR', format: 'json' });
  });

  test('a missing variable in a plugin section that is not a mapping is still reported', () => {
    const loaded = parseConfig('backends:\n  - "${BACKEND}"\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(
      located(loaded).map(({ line, column, path }) => ({ line, column, path })),
      [
        { line: 2, column: 3, path: 'backends' },
        { line: 2, column: 5, path: 'backends.0' },
      ],
    );
    assert.ok(loaded.issues.some((issue) => /BACKEND is not set/.test(issue.message)));
  });
});

describe('wrong types: expected vs found', () => {
  test('in global sections and plugin entries, each located at the value', async () => {
    const loaded = await load('wrong-type.yaml');
    assert.deepEqual(located(loaded), [
      {
        line: 2,
        column: 27,
        path: 'plugin_manager.max_concurrent_plugins',
        message: 'expected number, found string "ten"',
      },
      {
        line: 7,
        column: 22,
        path: 'hooks.circuit_breaker.timeout_seconds',
        message: 'expected number, found string "90"',
      },
      { line: 9, column: 20, path: 'security.allowed_imports', message: 'expected array, found string "node:fs"' },
      { line: 13, column: 14, path: 'backends.ollama.enabled', message: 'expected boolean, found string "yes"' },
      { line: 16, column: 13, path: 'backends.openai.config', message: 'expected record, found an array' },
    ]);
  });

  test('each invalid global section warns at its key and falls back to its defaults', async () => {
    const loaded = await load('wrong-type.yaml');
    assert.deepEqual(
      located(loaded, 'warning').map(({ line, column, path }) => ({ line, column, path })),
      [
        { line: 1, column: 1, path: 'plugin_manager' },
        { line: 4, column: 1, path: 'hooks' },
        { line: 8, column: 1, path: 'security' },
      ],
    );
    assert.equal(loaded.config.plugin_manager.default_timeout, 30, 'the valid default_timeout: 5 goes too');
    assert.equal(loaded.config.hooks.max_concurrent_hooks, 10);
    assert.deepEqual(loaded.config.security.allowed_imports, []);
    assert.deepEqual(rejected(loaded), ['ollama', 'openai']);
  });

  test('integers, positive numbers and ranges say what they expected and found', () => {
    const loaded = parseConfig(
      [
        'plugin_manager:',
        '  max_concurrent_plugins: 2.5',
        '  default_timeout: -1',
        'security:',
        '  plugin_sandboxing:',
        '    max_cpu_percent: 150',
      ].join('\n'),
      '/srv/config.yaml',
      { env: {} },
    );
    const errors = located(loaded);
    assert.deepEqual(
      errors.map(({ line, column, path }) => ({ line, column, path })),
      [
        { line: 2, column: 27, path: 'plugin_manager.max_concurrent_plugins' },
        { line: 3, column: 20, path: 'plugin_manager.default_timeout' },
        { line: 6, column: 22, path: 'security.plugin_sandboxing.max_cpu_percent' },
      ],
    );
    assert.equal(errors[0]?.message, 'expected int, found number 2.5');
    assert.match(errors[1]!.message, /expected number to be >0, found number -1$/);
    assert.match(errors[2]!.message, /expected number to be <=100, found number 150$/);
  });

  test('a plugin entry that is not a mapping', () => {
    const loaded = parseConfig('features:\n  search: true\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      { line: 2, column: 11, path: 'features.search', message: 'expected object, found boolean true' },
    ]);
    assert.deepEqual(rejected(loaded), ['search']);
  });

  test('a plugin section that is not a mapping', () => {
    const loaded = parseConfig('middleware: [limiter, audit]\n', '/srv/config.yaml', { env: {} });
    assert.equal(loaded.issues.length, 1);
    assert.deepEqual(
      { line: loaded.issues[0]?.line, column: loaded.issues[0]?.column, path: loaded.issues[0]?.path },
      { line: 1, column: 13, path: 'middleware' },
    );
    assert.match(loaded.issues[0]!.message, /^expected a mapping of plugin name → .*, found a list$/);
  });

  test('strict and mode have their own checks, with a suggestion for a misspelt mode', () => {
    const loaded = parseConfig('mode: producton\nstrict: maybe\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      {
        line: 1,
        column: 7,
        path: 'mode',
        message: 'expected one of development, staging, production, found "producton" (did you mean "production"?)',
      },
      { line: 2, column: 9, path: 'strict', message: 'expected true or false, found "maybe"' },
    ]);
    assert.equal(loaded.config.mode, 'development', 'an invalid mode falls back to the default mode');
    assert.equal(loaded.config.strict, false);
  });

  test('a file that is not a mapping of sections is unusable, hence fatal', () => {
    const loaded = parseConfig('- plugin_manager\n- hooks\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      {
        line: 1,
        column: 1,
        path: '',
        message: 'the file must be a mapping of sections (plugin_manager, backends, …), found a list',
      },
    ]);
    assert.equal(loaded.fatal, true);
  });
});

describe('unknown keys, with "did you mean"', () => {
  test('at the top level, inside a section, inside a nested object, inside a plugin entry', async () => {
    const loaded = await load('unknown-keys.yaml');
    const errors = located(loaded);
    assert.deepEqual(
      errors.map(({ line, column, path }) => ({ line, column, path })),
      [
        { line: 1, column: 1, path: 'plugin_manger' },
        { line: 4, column: 3, path: 'hooks.max_concurent_hooks' },
        { line: 6, column: 5, path: 'hooks.circuit_breaker.failure_treshold' },
        { line: 10, column: 5, path: 'backends.ollama.priorty' },
      ],
    );
    assert.match(errors[0]!.message, /^unknown section \(did you mean "plugin_manager"\?\); sections are mode, /);
    assert.equal(
      errors[1]!.message,
      'unknown key (did you mean "max_concurrent_hooks"?); allowed keys: default_timeout, max_concurrent_hooks, monitoring_queue, circuit_breaker',
    );
    assert.equal(
      errors[2]!.message,
      'unknown key (did you mean "failure_threshold"?); allowed keys: failure_threshold, timeout_seconds',
    );
    assert.equal(
      errors[3]!.message,
      'unknown key (did you mean "priority"?); allowed keys: enabled, plugin_file, package, priority, failure_policy, timeout, fallback, retries, retry_delay, max_concurrent, max_queued, services, sandbox, trusted, config',
    );
  });

  test('a typo is never silently ignored: the entry is rejected and the section falls back', async () => {
    const loaded = await load('unknown-keys.yaml');
    assert.deepEqual(rejected(loaded), ['ollama']);
    assert.deepEqual(names(loaded), ['openai']);
    assert.equal(loaded.config.hooks.max_concurrent_hooks, 10, 'not 4: the hooks section is invalid');
    assert.ok(loaded.issues.some((issue) => issue.severity === 'warning' && issue.path === 'hooks'));
  });

  test('an unknown key with no close match lists the allowed keys without a guess', () => {
    const loaded = parseConfig(
      'backends:\n  ollama:\n    plugin_file: ollama.ts\n    colour: red\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(located(loaded), [
      {
        line: 4,
        column: 5,
        path: 'backends.ollama.colour',
        message:
          'unknown key; allowed keys: enabled, plugin_file, package, priority, failure_policy, timeout, fallback, retries, retry_delay, max_concurrent, max_queued, services, sandbox, trusted, config',
      },
    ]);
  });

  test('keys of a plugin’s own config are not checked here (the plugin’s schema does that)', () => {
    const loaded = parseConfig(
      'backends:\n  ollama:\n    plugin_file: ollama.ts\n    config:\n      anything: goes\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(loaded.issues, []);
  });
});

describe('priorities', () => {
  test('a bad priority string is located and suggests the closest priority', async () => {
    const loaded = await load('bad-priority.yaml');
    assert.deepEqual(located(loaded), [
      {
        line: 4,
        column: 15,
        path: 'backends.ollama.priority',
        message: `${PRIORITY_CHOICES}, found string "high" (did you mean "HIGH"?)`,
      },
      {
        line: 7,
        column: 15,
        path: 'backends.openai.priority',
        message: `${PRIORITY_CHOICES}, found string "NORMLA" (did you mean "NORMAL"?)`,
      },
      { line: 14, column: 15, path: 'features.recall.priority', message: `${PRIORITY_CHOICES}, found number 1` },
    ]);
    assert.deepEqual(rejected(loaded), ['ollama', 'openai', 'recall']);
    assert.deepEqual(names(loaded), ['search']);
    assert.equal(loaded.config.plugins[0]?.priority, 'NORMAL');
  });

  test('a log level is an enum too, with the same suggestions', () => {
    const loaded = parseConfig('observability:\n  logging:\n    level: debug\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      {
        line: 3,
        column: 12,
        path: 'observability.logging.level',
        message:
          'expected one of "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", found string "debug" (did you mean "DEBUG"?)',
      },
    ]);
  });
});

describe('plugin sources', () => {
  test('an entry with neither plugin_file nor package must name a built-in; both is refused; a package alone is fine', async () => {
    const loaded = await load('missing-source.yaml');
    assert.deepEqual(located(loaded), [
      {
        line: 2,
        column: 3,
        path: 'backends.olama',
        message: `no plugin_file or package, and "olama" is not a built-in plugin (did you mean "ollama"?); built-ins: ${Object.keys(BUILTIN_PLUGINS).join(', ')}`,
      },
      { line: 7, column: 5, path: 'backends.both', message: 'give either plugin_file or package, not both' },
    ]);
    assert.deepEqual(rejected(loaded), ['olama', 'both']);
    assert.deepEqual(names(loaded), ['from_npm']);
    assert.equal(loaded.config.plugins[0]?.package, '@acme/plugboard-openai');
    assert.equal(loaded.config.plugins[0]?.resolvedPath, undefined);
  });

  test('spec §8.2’s example loads as written: no plugin_file names the built-in openai backend', () => {
    const loaded = parseConfig(
      [
        'backends:',
        '  openai:',
        '    config:',
        '      api_key: "${OPENAI_API_KEY}"',
        '      model: "${OPENAI_MODEL:gpt-4}"',
        '      timeout: "${OPENAI_TIMEOUT:60}"',
      ].join('\n'),
      '/srv/config.yaml',
      { env: { OPENAI_API_KEY: 'sk' } },
    );
    assert.deepEqual(located(loaded), []);
    const [entry] = loaded.config.plugins;
    assert.equal(entry?.origin, 'builtin');
    assert.equal(entry?.resolvedPath, fileURLToPath(new URL('../../plugins/openai/openai.plugin.ts', import.meta.url)));
    assert.deepEqual(entry?.config, { api_key: 'sk', model: 'gpt-4', timeout: '60' });
  });

  test('a built-in named under the wrong section is refused, naming its section', () => {
    const loaded = parseConfig('features:\n  ollama: {}\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      { line: 2, column: 3, path: 'features.ollama', message: 'the built-in plugin "ollama" belongs under backends' },
    ]);
  });

  test('an invalid plugin name is located at the name', () => {
    const loaded = parseConfig('backends:\n  OpenAI:\n    plugin_file: openai.ts\n', '/srv/config.yaml', { env: {} });
    assert.deepEqual(located(loaded), [
      {
        line: 2,
        column: 3,
        path: 'backends.OpenAI',
        message: 'invalid plugin name: plugin names use lower-case letters, digits, "-" and "_"',
      },
    ]);
    assert.deepEqual(rejected(loaded), ['OpenAI']);
  });

  test('duplicate plugin names across sections: the later entry is rejected at its name', async () => {
    const loaded = await load('duplicate-plugins.yaml');
    assert.deepEqual(located(loaded), [
      { line: 7, column: 3, path: 'features.ollama', message: 'plugin "ollama" is already configured under backends' },
    ]);
    assert.deepEqual(
      loaded.rejectedPlugins.map(({ name, section }) => ({ name, section })),
      [{ name: 'ollama', section: 'features' }],
    );
    assert.deepEqual(
      loaded.config.plugins.map(({ name, section }) => `${section}.${name}`),
      ['backends.ollama', 'features.search'],
    );
    assert.equal(loaded.issues[0]?.plugin, 'ollama');
  });
});

describe('plugin_file paths and plugin_directories', () => {
  test('paths escaping the allowed folders (.., absolute, look-alike prefix) are rejected at the path', async () => {
    const loaded = await load('path-escape.yaml');
    const message = (path: string): string =>
      `path ${path} leaves the allowed plugin folders (backends, features); move the plugin or add its folder to plugin_manager.plugin_directories`;
    assert.deepEqual(located(loaded), [
      { line: 7, column: 18, path: 'backends.dotdot.plugin_file', message: message('../outside/evil.ts') },
      {
        line: 9,
        column: 18,
        path: 'backends.sneaky.plugin_file',
        message: message('backends/../../outside/evil.ts'),
      },
      { line: 11, column: 18, path: 'backends.absolute.plugin_file', message: message('/etc/evil.ts') },
      {
        line: 17,
        column: 18,
        path: 'middleware.lookalike.plugin_file',
        message: message('backends-extra/logger.ts'),
      },
    ]);
    assert.deepEqual(rejected(loaded), ['dotdot', 'sneaky', 'absolute', 'lookalike']);
  });

  test('paths inside the allowed folders resolve relative to the config file', async () => {
    const loaded = await load('path-escape.yaml');
    assert.deepEqual(
      loaded.config.plugins.map(({ name, resolvedPath }) => ({ name, resolvedPath })),
      [
        { name: 'inside', resolvedPath: join(FIXTURES, 'backends/ollama.ts') },
        { name: 'nested', resolvedPath: join(FIXTURES, 'features/deep/search.ts') },
      ],
    );
  });

  test('by default only the config file’s own folder is allowed', () => {
    const loaded = parseConfig(
      'backends:\n  ok:\n    plugin_file: plugins/ok.ts\n  up:\n    plugin_file: ../up.ts\n',
      '/srv/plugboard/config.yaml',
      { env: {} },
    );
    assert.deepEqual(
      located(loaded).map(({ line, column, path }) => ({ line, column, path })),
      [{ line: 5, column: 18, path: 'backends.up.plugin_file' }],
    );
    assert.match(loaded.issues[0]!.message, /leaves the allowed plugin folders \(\.\)/);
    assert.equal(loaded.config.plugins[0]?.resolvedPath, '/srv/plugboard/plugins/ok.ts');
  });

  describe('symlinks', () => {
    let root: string;
    before(async () => {
      root = await realpath(await mkdtemp(join(tmpdir(), 'plugboard-config-')));
      await mkdir(join(root, 'releases/1/plugins'), { recursive: true });
      await mkdir(join(root, 'outside'), { recursive: true });
      await mkdir(join(root, 'shared'), { recursive: true });
      await writeFile(join(root, 'outside/evil.ts'), 'export default {};\n');
      await writeFile(join(root, 'shared/tool.ts'), 'export default {};\n');
      await writeFile(join(root, 'releases/1/plugins/good.ts'), 'export default {};\n');
      await symlink(join(root, 'outside/evil.ts'), join(root, 'releases/1/plugins/link.ts'));
      await symlink(join(root, 'outside'), join(root, 'releases/1/plugins/linkdir'));
      await symlink(join(root, 'shared'), join(root, 'releases/1/shared'));
      // A deployment-style `current` link to the release folder.
      await symlink(join(root, 'releases/1'), join(root, 'current'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const text = [
      'plugin_manager:',
      '  plugin_directories: [plugins, shared]',
      'backends:',
      '  good:',
      '    plugin_file: plugins/good.ts',
      '  via_link:',
      '    plugin_file: plugins/link.ts',
      '  via_dir:',
      '    plugin_file: plugins/linkdir/evil.ts',
      '  not_yet:',
      '    plugin_file: plugins/not-written-yet.ts',
      '  shared_tool:',
      '    plugin_file: shared/tool.ts',
      '',
    ].join('\n');

    for (const folder of ['releases/1', 'current']) {
      test(`a symlink leading out of the allowed folders is rejected (config under ${folder})`, async () => {
        const file = join(root, folder, 'config.yaml');
        await writeFile(file, text);
        const loaded = await loadConfig({ file, env: {} });
        assert.deepEqual(
          located(loaded).map(({ line, column, path }) => ({ line, column, path })),
          [
            { line: 7, column: 18, path: 'backends.via_link.plugin_file' },
            { line: 9, column: 18, path: 'backends.via_dir.plugin_file' },
          ],
        );
        assert.deepEqual(rejected(loaded), ['via_link', 'via_dir']);
        // A file that does not exist yet is judged by its folder, so a symlinked config
        // folder does not make it look outside; an allowed folder that is itself a link
        // allows what it points to.
        assert.deepEqual(names(loaded), ['good', 'not_yet', 'shared_tool']);
        assert.equal(loaded.config.plugins[0]?.resolvedPath, join(root, folder, 'plugins/good.ts'));
      });
    }
  });
});

describe('YAML problems', () => {
  // Kept inline rather than as a fixture: the repository's formatter refuses to parse broken YAML.
  const TAB_INDENTED = [
    'mode: production',
    'plugin_manager:',
    '  enable_hot_reload: true',
    '\tdefault_timeout: 5',
    'backends:',
    '  ollama:',
    '    plugin_file: backends/ollama.ts',
    '',
  ].join('\n');

  test('a syntax error is located and makes the file unusable: fatal even without strict', () => {
    const file = '/srv/plugboard/config.yaml';
    const loaded = parseConfig(TAB_INDENTED, file, { env: {} });
    assert.deepEqual(loaded.issues, [
      {
        severity: 'error',
        file,
        line: 4,
        column: 1,
        path: '',
        message: 'YAML syntax: Tabs are not allowed as indentation',
        rule: 'syntax',
      },
    ]);
    assert.equal(loaded.fatal, true);
    assert.deepEqual(loaded.config.plugins, [], 'nothing from a broken file is used');
  });

  test('other syntax errors carry their line and column too', () => {
    const loaded = parseConfig('hooks:\n  default_timeout: 5\n  max_concurrent_hooks: 3: 4\n', '/srv/config.yaml', {
      env: {},
    });
    assert.deepEqual(located(loaded), [
      {
        line: 3,
        column: 25,
        path: '',
        message: 'YAML syntax: Nested mappings are not allowed in compact mappings',
      },
    ]);
  });

  test('a duplicate key is an error at the second occurrence, never a silent overwrite', async () => {
    const loaded = await load('duplicate-keys.yaml');
    assert.deepEqual(located(loaded), [
      { line: 5, column: 3, path: '', message: 'YAML syntax: Map keys must be unique' },
    ]);
    assert.equal(loaded.fatal, true);
    assert.equal(loaded.config.plugin_manager.default_timeout, 30);
  });

  test('duplicate top-level sections are caught the same way', () => {
    const loaded = parseConfig('hooks:\n  default_timeout: 1\nhooks:\n  default_timeout: 2\n', '/srv/config.yaml', {
      env: {},
    });
    assert.deepEqual(located(loaded), [
      { line: 3, column: 1, path: '', message: 'YAML syntax: Map keys must be unique' },
    ]);
  });
});

describe('cross-checks', () => {
  test('default_backend naming a backend that is not configured', async () => {
    const loaded = await load('default-backend.yaml');
    assert.deepEqual(located(loaded), [
      {
        line: 2,
        column: 20,
        path: 'plugin_manager.default_backend',
        message: 'no backend named "olama" is configured; backends: ollama, openai',
      },
    ]);
    assert.deepEqual(names(loaded), ['ollama', 'openai'], 'the backends themselves are fine');
  });

  test('default_backend naming a plugin of another section, or a rejected backend, is an error too', () => {
    const other = parseConfig(
      'plugin_manager:\n  default_backend: search\nfeatures:\n  search:\n    plugin_file: search.ts\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(
      located(other).map(({ path, message }) => ({ path, message })),
      [{ path: 'plugin_manager.default_backend', message: 'no backend named "search" is configured; backends: none' }],
    );
    const broken = parseConfig(
      'plugin_manager:\n  default_backend: ollama\nbackends:\n  ollama:\n    plugin_file: o.ts\n    priority: top\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(
      located(broken).map(({ path }) => path),
      ['plugin_manager.default_backend', 'backends.ollama.priority'],
    );
  });

  test('default_backend naming a configured backend (even a disabled one) is fine', () => {
    const loaded = parseConfig(
      'plugin_manager:\n  default_backend: ollama\nbackends:\n  ollama:\n    enabled: false\n    plugin_file: o.ts\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.config.plugin_manager.default_backend, 'ollama');
  });
});

describe('backend retries and fallback keys', () => {
  const parse = (text: string) => parseConfig(text, '/srv/config.yaml', { env: {} });

  test('fallback, retries and retry_delay reach the backend settings', async () => {
    const { settingsOf } = await import('../../src/config/plugin-entries.ts');
    const loaded = parse(
      [
        'backends:',
        '  ollama: { plugin_file: ollama.plugin.ts, fallback: llamacpp, retries: 2, retry_delay: 0.25 }',
        '  llamacpp: { plugin_file: llamacpp.plugin.ts }',
      ].join('\n'),
    );
    assert.deepEqual(located(loaded), []);
    assert.deepEqual(settingsOf(loaded.config.plugins[0]!).backend, {
      fallback: 'llamacpp',
      retries: 2,
      retryDelayMs: 250,
    });
    assert.equal(settingsOf(loaded.config.plugins[1]!).backend, undefined);
  });

  test('an unknown fallback is an error with a suggestion, and is ignored; the backend still loads', () => {
    const loaded = parse(
      [
        'backends:',
        '  ollama: { plugin_file: ollama.plugin.ts, fallback: lamacpp }',
        '  llamacpp: { plugin_file: llamacpp.plugin.ts }',
        '  solo: { plugin_file: solo.plugin.ts, fallback: solo }',
      ].join('\n'),
    );
    assert.deepEqual(
      located(loaded).map(({ line, path, message }) => ({ line, path, message })),
      [
        {
          line: 2,
          path: 'backends.ollama.fallback',
          message: 'no backend named "lamacpp" is configured (did you mean "llamacpp"?); backends: llamacpp, solo',
        },
        { line: 4, path: 'backends.solo.fallback', message: 'a backend cannot be its own fallback' },
      ],
    );
    assert.deepEqual(names(loaded), ['ollama', 'llamacpp', 'solo']);
    assert.equal(loaded.config.plugins[0]?.fallback, undefined);
  });

  test('outside backends, the keys are an error on that entry', () => {
    const loaded = parse('middleware:\n  limiter: { plugin_file: l.middleware.ts, retries: 3 }\n');
    assert.deepEqual(
      located(loaded).map(({ path, message }) => ({ path, message })),
      [
        {
          path: 'middleware.limiter.retries',
          message: '"retries" applies to backends only (this entry is under middleware)',
        },
      ],
    );
    assert.deepEqual(rejected(loaded), ['limiter']);
  });
});
