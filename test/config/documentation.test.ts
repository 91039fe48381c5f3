// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * docs/CONFIGURATION.md stays true to the loader: its complete example loads without a single
 * issue and uses every key of the schema, its reference tables name every key, its mode table
 * matches the presets, and its sample error output is what the loader prints for that file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { formatIssue } from '../../src/config/config-issue.ts';
import { parseConfig } from '../../src/config/load-config.ts';
import { MODE_PRESETS } from '../../src/config/presets.ts';
import { configFileSchema, pluginEntrySchema } from '../../src/config/schema.ts';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/CONFIGURATION.md', import.meta.url)), 'utf8');

/** The fenced yaml block that follows the heading `heading`. */
function yamlAfter(heading: string): string {
  const start = DOC.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `heading ${heading} exists`);
  const match = /```yaml\n([\s\S]*?)```/.exec(DOC.slice(start));
  assert.ok(match, `a yaml block follows ${heading}`);
  return match[1]!;
}

type Def = { type?: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown };
const defOf = (schema: unknown): Def | undefined => (schema as { _zod?: { def?: Def } })?._zod?.def;

/** Dotted paths of every leaf key of an object schema (through defaults, optionals, pipes). */
function leafKeys(schema: unknown, prefix = ''): string[] {
  let def = defOf(schema);
  while (def && def.type !== 'object' && (def.innerType !== undefined || def.in !== undefined)) {
    def = defOf(def.innerType ?? def.in);
  }
  if (def?.type !== 'object' || def.shape === undefined) return [prefix];
  return Object.entries(def.shape).flatMap(([key, child]) => leafKeys(child, prefix ? `${prefix}.${key}` : key));
}

/** A markdown table row whose first cell is `key` (cells may be padded). */
const tableRow = (key: string): RegExp => new RegExp(`\\| \`${key.replaceAll('.', '\\.')}\` +\\|`);

const PLUGIN_SECTIONS = ['backends', 'message_processors', 'features', 'middleware'];
const globalKeys = leafKeys(configFileSchema).filter((key) => !PLUGIN_SECTIONS.includes(key));
const entryKeys = leafKeys(pluginEntrySchema);

describe('docs/CONFIGURATION.md', () => {
  const example = yamlAfter('## A complete example');
  const env = { OPENAI_API_KEY: 'sk-doc' };

  test('the complete example loads without any issue', () => {
    const loaded = parseConfig(example, '/srv/plugboard/plugins/config.yaml', { env });
    assert.deepEqual(loaded.issues.map(formatIssue), []);
    assert.equal(loaded.fatal, false);
    assert.deepEqual(
      loaded.config.plugins.map((plugin) => plugin.name),
      ['ollama', 'openai', 'profanity_filter', 'web_search', 'rate_limiter', 'audit_log'],
    );
    assert.equal(loaded.config.plugins[0]?.timeout, 120);
  });

  test('the complete example writes every key of the schema', () => {
    const data = parseDocument(example).toJS() as Record<string, unknown>;
    const has = (object: unknown, path: string): boolean =>
      path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object) !==
      undefined;
    for (const key of globalKeys) assert.ok(has(data, key), `the example sets ${key}`);
    const entries = PLUGIN_SECTIONS.flatMap((section) => Object.values((data[section] ?? {}) as object));
    for (const key of entryKeys)
      assert.ok(
        entries.some((entry) => has(entry, key)),
        `an example entry sets ${key}`,
      );
  });

  test('the reference tables name every key', () => {
    for (const key of [...globalKeys.map((key) => key.split('.').slice(1).join('.') || key), ...entryKeys]) {
      assert.ok(tableRow(key).test(DOC), `a table row for ${key}`);
    }
    for (const section of [...PLUGIN_SECTIONS, 'plugin_manager', 'hooks', 'observability', 'security']) {
      assert.ok(tableRow(section).test(DOC), `a table row for ${section}`);
    }
  });

  test('the mode table matches the presets', () => {
    const row = (key: string): string[] => {
      const line = DOC.split('\n').find((text) => new RegExp(`^${tableRow(key).source} +\``).test(text));
      assert.ok(line, `a mode-table row for ${key}`);
      return line
        .split('|')
        .slice(2, 5)
        .map((cell) => cell.trim().replaceAll('`', ''));
    };
    const presetAt = (mode: keyof typeof MODE_PRESETS, key: string): string =>
      String(
        key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], MODE_PRESETS[mode]),
      );
    for (const key of [
      'strict',
      'plugin_manager.enable_hot_reload',
      'plugin_manager.enable_circuit_breaker',
      'observability.logging.level',
      'observability.logging.format',
    ]) {
      assert.deepEqual(
        row(key),
        (['development', 'staging', 'production'] as const).map((mode) => presetAt(mode, key)),
        key,
      );
    }
  });

  test('the sample error output is what the loader reports for that file', () => {
    const file = [
      'mode: production',
      '',
      'plugin_manager:',
      '  default_timeout: "${PLUGBOARD_TIMEOUT:thirty}"',
      '  enable_hot_relaod: true',
      '',
      'backends:',
      '  echo:',
      '    plugin_file: echo-backend.plugin.ts',
      '    config:',
      '      api_key: "${ECHO_API_KEY}"',
      '',
      'message_processors:',
      '  redact-emails:',
      '    plugin_file: redact-emails.plugin.ts',
      '    priority: high',
      '',
      'features:',
      '  house-style:',
      '    plugin_file: ../../shared/house-style.plugin.ts',
      '',
    ].join('\n');
    const loaded = parseConfig(file, '/srv/plugboard/plugins/config.yaml', { env: {} });
    for (const line of loaded.issues.map(formatIssue)) {
      assert.ok(DOC.includes(`\n${line}\n`), `the sample output shows: ${line}`);
    }
    assert.equal(loaded.issues.length, 6);
  });
});
