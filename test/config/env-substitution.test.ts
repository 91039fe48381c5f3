// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * Environment substitution (spec §8.2, FR-11.2): `${VAR}` is required, `${VAR:default}` has a
 * default (possibly empty), `$${…}` is a literal; a value that is exactly one reference may be
 * coerced to the number or boolean the schema expects. Tested on `substituteEnv` itself and
 * through `parseConfig` (locations of missing variables, coercion against the schema).
 * Every test passes `env` explicitly: nothing depends on the real environment.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathKey, substituteEnv } from '../../src/config/env-substitution.ts';
import { loadConfig, parseConfig } from '../../src/config/load-config.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));

describe('substituteEnv', () => {
  test('${VAR} takes the variable’s value', () => {
    const result = substituteEnv({ api_key: '${OPENAI_API_KEY}' }, { OPENAI_API_KEY: 'sk-123' });
    assert.deepEqual(result.value, { api_key: 'sk-123' });
    assert.deepEqual(result.missing, []);
  });

  test('a missing ${VAR} is recorded with its variable and path, and leaves an empty string', () => {
    const result = substituteEnv({ backends: { openai: { config: { api_key: '${OPENAI_API_KEY}' } } } }, {});
    assert.deepEqual(result.missing, [
      { path: ['backends', 'openai', 'config', 'api_key'], variable: 'OPENAI_API_KEY' },
    ]);
    assert.deepEqual(result.value, { backends: { openai: { config: { api_key: '' } } } });
  });

  test('${VAR:default} uses the default only when VAR is unset', () => {
    assert.deepEqual(substituteEnv({ model: '${OPENAI_MODEL:gpt-4}' }, {}).value, { model: 'gpt-4' });
    assert.deepEqual(substituteEnv({ model: '${OPENAI_MODEL:gpt-4}' }, { OPENAI_MODEL: 'gpt-4o' }).value, {
      model: 'gpt-4o',
    });
    assert.deepEqual(substituteEnv({ model: '${OPENAI_MODEL:gpt-4}' }, {}).missing, []);
  });

  test('a variable set to the empty string is used as is (the default is for unset variables)', () => {
    assert.deepEqual(substituteEnv({ model: '${OPENAI_MODEL:gpt-4}' }, { OPENAI_MODEL: '' }).value, { model: '' });
  });

  test('${VAR:} is an empty default, not a missing variable', () => {
    const result = substituteEnv({ organization: '${OPENAI_ORG:}' }, {});
    assert.deepEqual(result.value, { organization: '' });
    assert.deepEqual(result.missing, []);
  });

  test('a default may contain colons (URLs)', () => {
    assert.deepEqual(substituteEnv({ url: '${OLLAMA_URL:http://localhost:11434}' }, {}).value, {
      url: 'http://localhost:11434',
    });
  });

  test('$${VAR} is the literal text ${VAR}, even when VAR is unset or set', () => {
    const unset = substituteEnv({ template: '$${NAME}', other: 'Hello $${NAME:you}!' }, {});
    assert.deepEqual(unset.value, { template: '${NAME}', other: 'Hello ${NAME:you}!' });
    assert.deepEqual(unset.missing, []);
    assert.deepEqual(substituteEnv({ template: '$${NAME}' }, { NAME: 'Ada' }).value, { template: '${NAME}' });
  });

  test('several references, and references inside text, are all replaced', () => {
    const result = substituteEnv(
      { url: 'https://${HOST}:${PORT:443}/v1', mixed: '$${KEEP} and ${USER_NAME}' },
      { HOST: 'api.example.com', USER_NAME: 'ada' },
    );
    assert.deepEqual(result.value, { url: 'https://api.example.com:443/v1', mixed: '${KEEP} and ada' });
  });

  test('every missing variable is reported, with array indices in the path', () => {
    const result = substituteEnv({ list: ['ok', '${A}', { deep: '${B}-${C:c}' }] }, {});
    assert.deepEqual(result.missing, [
      { path: ['list', 1], variable: 'A' },
      { path: ['list', 2, 'deep'], variable: 'B' },
    ]);
    assert.deepEqual(result.value, { list: ['ok', '', { deep: '-c' }] });
  });

  test('only values that are exactly one reference are coercible', () => {
    const result = substituteEnv(
      { a: '${T:60}', b: 'x${T:60}', c: '${A}${B}', d: '$${T}', e: { f: ['${N:1}'] } },
      { A: '1', B: '2' },
    );
    assert.deepEqual(
      [...result.coercible].sort(),
      [pathKey(['a']), pathKey(['e', 'f', 0])].sort(),
      'only a and e.f[0] came whole from one reference',
    );
  });

  test('non-strings and strings without references are untouched; the input is not mutated', () => {
    const input = { n: 5, b: true, nothing: null, s: 'plain $ text {}', list: [1, '${X:y}'] };
    const copy = structuredClone(input);
    const result = substituteEnv(input, {});
    assert.deepEqual(result.value, { n: 5, b: true, nothing: null, s: 'plain $ text {}', list: [1, 'y'] });
    assert.deepEqual(input, copy);
  });

  test('text that is not a valid reference is left alone', () => {
    const result = substituteEnv({ a: '${1BAD}', b: '${}', c: '${NAME' }, {});
    assert.deepEqual(result.value, { a: '${1BAD}', b: '${}', c: '${NAME' });
    assert.deepEqual(result.missing, []);
  });
});

describe('substitution in a configuration file', () => {
  test('spec §8.2 example loads with the variables it names; defaults fill the unset ones', async () => {
    const loaded = await loadConfig({
      file: join(FIXTURES, 'spec-8.2.yaml'),
      env: { OPENAI_API_KEY: 'sk-test' },
    });
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.fatal, false);
    const openai = loaded.config.plugins.find((plugin) => plugin.name === 'openai');
    assert.ok(openai, 'the openai backend is configured');
    // The plugin's own config is validated (and coerced) later against the schema the plugin
    // declares; the loader hands over the substituted text.
    assert.deepEqual(openai.config, { api_key: 'sk-test', model: 'gpt-4', timeout: '60' });
  });

  test('spec §8.2 example: set variables win over defaults', async () => {
    const loaded = await loadConfig({
      file: join(FIXTURES, 'spec-8.2.yaml'),
      env: { OPENAI_API_KEY: 'sk-live', OPENAI_MODEL: 'gpt-4o', OPENAI_TIMEOUT: '15' },
    });
    assert.deepEqual(loaded.config.plugins[0]?.config, { api_key: 'sk-live', model: 'gpt-4o', timeout: '15' });
  });

  test('spec §8.2 example without OPENAI_API_KEY: the error names the variable and its file:line:col', async () => {
    const file = join(FIXTURES, 'spec-8.2.yaml');
    const loaded = await loadConfig({ file, env: {} });
    assert.deepEqual(loaded.issues, [
      {
        severity: 'error',
        file,
        line: 6,
        column: 16,
        path: 'backends.openai.config.api_key',
        message: 'environment variable OPENAI_API_KEY is not set (use ${OPENAI_API_KEY:default} to give a default)',
        plugin: 'openai',
        rule: 'env-missing',
      },
    ]);
    assert.deepEqual(
      loaded.rejectedPlugins.map((rejected) => rejected.name),
      ['openai'],
    );
    assert.deepEqual(loaded.config.plugins, []);
  });

  test('whole references are coerced to the number or boolean the schema expects', async () => {
    const loaded = await loadConfig({ file: join(FIXTURES, 'env-coercion.yaml'), env: {} });
    assert.deepEqual(loaded.issues, []);
    const { config } = loaded;
    assert.equal(config.plugin_manager.default_timeout, 45);
    assert.equal(config.plugin_manager.enable_hot_reload, false, 'explicit "${HOT:false}" beats the preset');
    assert.equal(config.plugin_manager.max_concurrent_plugins, 4);
    assert.equal(config.hooks.circuit_breaker.failure_threshold, 3);
    const openai = config.plugins[0];
    assert.equal(openai?.timeout, 60);
    assert.equal(openai?.enabled, true);
    assert.deepEqual(openai?.config, {
      base_url: 'https://api.openai.com/v1',
      organization: '',
      template: '${NOT_A_VARIABLE}',
      escaped_default: '${NAME:fallback}',
    });
  });

  test('coercion uses the variables’ values, and accepts true/false/yes/no/on/off/1/0 for booleans', async () => {
    const file = join(FIXTURES, 'env-coercion.yaml');
    for (const [text, expected] of [
      ['true', true],
      ['yes', true],
      ['ON', true],
      ['1', true],
      ['false', false],
      ['no', false],
      ['off', false],
      ['0', false],
    ] as const) {
      const loaded = await loadConfig({
        file,
        env: { HOT: text, OPENAI_ENABLED: text, T: '2.5', OPENAI_TIMEOUT: '7', PLUGBOARD_MODE: 'staging' },
      });
      assert.deepEqual(loaded.issues, [], text);
      assert.equal(loaded.config.mode, 'staging');
      assert.equal(loaded.config.plugin_manager.enable_hot_reload, expected, text);
      assert.equal(loaded.config.plugins[0]?.enabled, expected, text);
      assert.equal(loaded.config.plugin_manager.default_timeout, 2.5);
      assert.equal(loaded.config.plugins[0]?.timeout, 7);
    }
  });

  test('a variable whose value is not a number where a number is expected is a located type error', async () => {
    const file = join(FIXTURES, 'env-coercion.yaml');
    const loaded = await loadConfig({ file, env: { T: 'soon', OPENAI_TIMEOUT: 'never' } });
    const errors = loaded.issues.filter((issue) => issue.severity === 'error');
    assert.deepEqual(
      errors.map(({ line, column, path, message }) => ({ line, column, path, message })),
      [
        {
          line: 3,
          column: 20,
          path: 'plugin_manager.default_timeout',
          // A value from the environment is never echoed (it may be a secret): its variable is named instead.
          message: 'expected number, found string [redacted] (from ${T})',
        },
        {
          line: 13,
          column: 14,
          path: 'backends.openai.timeout',
          message: 'expected number, found string [redacted] (from ${OPENAI_TIMEOUT})',
        },
      ],
    );
    assert.deepEqual(
      loaded.rejectedPlugins.map((rejected) => rejected.name),
      ['openai'],
    );
  });

  test('a quoted number written in the file is not coerced: only values from ${…} are', () => {
    const loaded = parseConfig('plugin_manager:\n  default_timeout: "45"\n', '/srv/config.yaml', { env: {} });
    assert.equal(loaded.issues[0]?.message, 'expected number, found string "45"');
    assert.equal(loaded.config.plugin_manager.default_timeout, 30, 'the section fell back to its default');
  });

  test('a reference inside text is never coerced, even where a number is expected', () => {
    const loaded = parseConfig('plugin_manager:\n  default_timeout: "${T:4}5"\n', '/srv/config.yaml', { env: {} });
    assert.equal(loaded.issues[0]?.message, 'expected number, found string "45"');
  });

  test('a missing variable in a global section is located, and that section falls back to its defaults', () => {
    const loaded = parseConfig(
      'hooks:\n  default_timeout: 5\nplugin_manager:\n  default_backend: "${DEFAULT_BACKEND}"\n  default_timeout: 9\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(
      loaded.issues.map(({ severity, line, column, path }) => ({ severity, line, column, path })),
      [
        { severity: 'error', line: 4, column: 20, path: 'plugin_manager.default_backend' },
        { severity: 'warning', line: 3, column: 1, path: 'plugin_manager' },
      ],
    );
    assert.match(loaded.issues[0]!.message, /environment variable DEFAULT_BACKEND is not set/);
    assert.equal(loaded.config.plugin_manager.default_timeout, 30, 'plugin_manager fell back to its defaults');
    assert.equal(loaded.config.plugin_manager.default_backend, undefined);
    assert.equal(loaded.config.hooks.default_timeout, 5, 'hooks is untouched');
  });

  test('$${VAR} in a file is a literal and never a missing-variable error, even in strict mode', () => {
    const loaded = parseConfig(
      'strict: true\nbackends:\n  echo:\n    plugin_file: echo.ts\n    config:\n      greeting: "Hi $${USER_NAME}"\n',
      '/srv/config.yaml',
      { env: {} },
    );
    assert.deepEqual(loaded.issues, []);
    assert.equal(loaded.fatal, false);
    assert.deepEqual(loaded.config.plugins[0]?.config, { greeting: 'Hi ${USER_NAME}' });
  });
});
