/**
 * plugins/auth/README.md stays true to the plugin: its table names every config key (the
 * `keys[]` entries' and the `jwt` section's too) and nothing else, and its example
 * configuration is valid.
 */
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { authConfigSchema, configKeySchema, jwtSchema } from './config.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, [
    ...Object.keys(authConfigSchema.shape),
    // `key` exists only to refuse a plaintext key with a helpful message (described under key_env).
    ...Object.keys(configKeySchema.shape)
      .filter((key) => key !== 'key')
      .map((key) => `keys[].${key}`),
    ...Object.keys(jwtSchema.shape).map((key) => `jwt.${key}`),
  ]);
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'auth'], authConfigSchema);
});
