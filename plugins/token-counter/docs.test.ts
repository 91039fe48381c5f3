/**
 * plugins/token-counter/README.md stays true to the plugin: its table names every config key
 * (the nested `budgets.…` and `metrics.…` ones too) and nothing else, its example configuration
 * is valid, and it names every error code, header and metric.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertExampleConfig, assertKeyTable, readPluginReadme } from '../../test/support/plugin-readme.ts';
import { budgetSchema, budgetsSchema, metricsSchema, perRequestSchema, tokenCounterConfigSchema } from './config.ts';
import { tokenCounterErrors } from './errors.ts';

const README = readPluginReadme(import.meta.url);

test('the README table names every config key, and only those', () => {
  assertKeyTable(README, [
    ...Object.keys(tokenCounterConfigSchema.shape),
    ...Object.keys(budgetsSchema.shape).map((key) => `budgets.${key}`),
    ...Object.keys(perRequestSchema.shape).map((key) => `budgets.per_request.${key}`),
    ...Object.keys(budgetSchema.shape).map((key) => `budgets.per_principal[].${key}`),
    ...Object.keys(metricsSchema.shape).map((key) => `metrics.${key}`),
  ]);
});

test("the README's example configuration is valid", () => {
  assertExampleConfig(README, ['middleware', 'token_counter'], tokenCounterConfigSchema);
});

test('the README lists every error code, the headers and the metrics', () => {
  for (const key of Object.keys(tokenCounterErrors.entries)) {
    const code = tokenCounterErrors.codeOf(key as keyof typeof tokenCounterErrors.entries);
    assert.ok(README.includes(`\`${code}\``), code);
  }
  for (const name of [
    'Retry-After',
    'x-token-budget-limit',
    'x-token-budget-remaining',
    'x-token-budget-reset',
    'token_counter_tokens_total',
    'token_counter_budget_refusals_total',
    'metadata.tokens',
  ]) {
    assert.ok(README.includes(`\`${name}\``), name);
  }
});
