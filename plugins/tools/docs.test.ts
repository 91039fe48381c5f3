/**
 * plugins/tools/README.md stays true to the plugin: its table names every config key (nested
 * ones as `breaker.failure_threshold`, a server entry's as `mcp_servers.command`) and nothing
 * else, its example configuration is valid, and it names every outcome, metric and error code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme, tableRows } from '../../test/support/plugin-readme.ts';
import { CONFIG_KEYS, toolsConfigSchema } from './config.ts';
import { toolsErrors } from './errors.ts';
import { OUTCOMES } from './tool-metrics.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, CONFIG_KEYS);
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['features', 'tools'], toolsConfigSchema);
});

test('the README names every outcome, metric and error code', () => {
  const outcomes = [...tableRows(README, '`outcome`').keys()];
  for (const outcome of OUTCOMES) assert.ok(outcomes.includes(outcome), outcome);
  for (const metric of [
    'tools_calls_total',
    'tools_call_duration_seconds',
    'tools_rounds_total',
    'tools_mcp_server_up',
    'tools_mcp_server_tools',
  ]) {
    assert.ok(README.includes(`\`${metric}\``), metric);
  }
  for (const key of Object.keys(toolsErrors.entries) as (keyof typeof toolsErrors.entries)[]) {
    assert.ok(README.includes(`\`${toolsErrors.codeOf(key)}\``), key);
  }
});
