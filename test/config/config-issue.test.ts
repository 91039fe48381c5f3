/**
 * How configuration problems read (NFR-5, FR-11.3): `formatIssue` prints
 * `file:line:col: path: message` (what `plugboard config check` lists), and the YAML locator
 * finds the line and column of a value, of a key, or of the nearest existing ancestor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineCounter, parseDocument } from 'yaml';
import { type ConfigIssue, formatIssue, YamlLocator } from '../../src/config/config-issue.ts';
import { parseConfig } from '../../src/config/load-config.ts';

describe('formatIssue', () => {
  const issue: ConfigIssue = {
    severity: 'error',
    file: 'plugins/config.yaml',
    line: 12,
    column: 5,
    path: 'backends.ollama.priority',
    message: 'expected one of "HIGH", "LOW", found string "high"',
  };

  test('reads file:line:col: path: message', () => {
    assert.equal(
      formatIssue(issue),
      'plugins/config.yaml:12:5: backends.ollama.priority: expected one of "HIGH", "LOW", found string "high"',
    );
  });

  test('warnings say so after the location', () => {
    assert.equal(
      formatIssue({ ...issue, severity: 'warning', path: 'hooks', message: 'section "hooks" is invalid' }),
      'plugins/config.yaml:12:5: warning: hooks: section "hooks" is invalid',
    );
  });

  test('without a location, a path or a file, those parts are left out', () => {
    const { line: _line, column: _column, ...unlocated } = issue;
    assert.equal(
      formatIssue({ ...unlocated, path: '', message: 'cannot read the configuration file: ENOENT' }),
      'plugins/config.yaml: cannot read the configuration file: ENOENT',
    );
    assert.equal(
      formatIssue({ ...issue, file: undefined }),
      `<config>:12:5: backends.ollama.priority: ${issue.message}`,
    );
  });

  test('real issues from the loader read the same way', () => {
    const loaded = parseConfig(
      'backends:\n  ollama:\n    plugin_file: ollama.ts\n    priority: high\n',
      '/srv/plugboard/plugins/config.yaml',
      { env: {} },
    );
    assert.deepEqual(loaded.issues.map(formatIssue), [
      '/srv/plugboard/plugins/config.yaml:4:15: backends.ollama.priority: expected one of "CRITICAL", "HIGH", "NORMAL", "LOW", "MONITORING", found string "high" (did you mean "HIGH"?)',
    ]);
    const section = parseConfig('hooks:\n  default_timeout: soon\n', 'config.yaml', { env: {} });
    assert.deepEqual(section.issues.map(formatIssue), [
      'config.yaml:2:20: hooks.default_timeout: expected number, found string "soon"',
      'config.yaml:1:1: warning: hooks: section "hooks" is invalid: using its defaults until it is fixed',
    ]);
  });
});

describe('YamlLocator', () => {
  const text = [
    'plugin_manager:', //                        1
    '  plugin_directories:', //                  2
    '    - plugins', //                          3
    '    - extra', //                            4
    'backends:', //                              5
    '  ollama:', //                              6
    '    config: { model: llama3, url: x }', //  7
    '',
  ].join('\n');
  const lines = new LineCounter();
  const locator = new YamlLocator(parseDocument(text, { lineCounter: lines }), lines);

  test('finds a value, and the key itself when asked', () => {
    assert.deepEqual(locator.locate(['backends', 'ollama', 'config']), { line: 7, column: 13 });
    assert.deepEqual(locator.locate(['backends', 'ollama', 'config'], true), { line: 7, column: 5 });
    assert.deepEqual(locator.locate(['backends', 'ollama', 'config', 'url']), { line: 7, column: 35 });
  });

  test('follows sequence indices', () => {
    assert.deepEqual(locator.locate(['plugin_manager', 'plugin_directories', 1]), { line: 4, column: 7 });
  });

  test('a path that does not exist points at its deepest existing ancestor', () => {
    assert.deepEqual(locator.locate(['backends', 'ollama', 'enabled']), locator.locate(['backends', 'ollama']));
    assert.deepEqual(locator.locate(['backends', 'ollama']), { line: 7, column: 5 });
  });

  test('no document, no location', () => {
    assert.equal(new YamlLocator(undefined, undefined).locate(['backends']), undefined);
  });
});
