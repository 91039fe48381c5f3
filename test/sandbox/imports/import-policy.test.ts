import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { builtinName } from '../../../src/sandbox/imports/import-names.ts';
import {
  checkImport,
  DEFAULT_SANDBOX_DENIED,
  type ImportCheck,
  isExemptImporter,
  resolveImportRules,
} from '../../../src/sandbox/imports/import-policy.ts';

const PLUGIN = '/srv/plugins/mine/index.plugin.ts';

function reasonOf(check: ImportCheck): string {
  assert.equal(check.ok, false, 'expected a refusal');
  return (check as { reason: string }).reason;
}

describe('resolveImportRules', () => {
  test("the spec's example: allowed asyncio, logging, datetime; denied os.system, subprocess, eval, exec", () => {
    const rules = resolveImportRules(['asyncio', 'logging', 'datetime'], ['os.system', 'subprocess', 'eval', 'exec']);
    assert.deepEqual([...(rules.allowed ?? [])].sort(), [
      'node:console',
      'node:events',
      'node:perf_hooks',
      'node:timers',
      'node:timers/promises',
    ]);
    assert.deepEqual([...rules.denied].sort(), ['capability:code-generation', 'node:child_process', 'node:vm']);
    assert.equal(rules.codeGeneration, false);
    assert.equal(rules.sources.get('node:child_process'), 'denied_imports ("os.system", "subprocess")');
    assert.equal(rules.sources.get('node:events'), 'allowed_imports ("asyncio")');
    assert.deepEqual(rules.unknown, []);
  });

  test('an empty allowed list is no allowed list (the configuration default is [])', () => {
    const rules = resolveImportRules([], ['subprocess']);
    assert.equal(rules.allowed, undefined);
    assert.equal(rules.codeGeneration, true);
    assert.equal(rules.network, true);
    assert.equal(rules.nativeAddons, true);
  });

  test('capabilities follow the denied names, and an allowed list that does not name them', () => {
    const denied = resolveImportRules([], ['requests', 'ctypes']);
    assert.equal(denied.network, false);
    assert.equal(denied.nativeAddons, false);
    assert.equal(denied.codeGeneration, true);
    const allowList = resolveImportRules(['asyncio', 'cffi'], []);
    assert.equal(allowList.codeGeneration, false, 'not allowed by the list');
    assert.equal(allowList.network, false);
    assert.equal(allowList.nativeAddons, true, 'cffi is listed');
  });

  test('lists Python-looking names that are not in the table, to warn about', () => {
    const rules = resolveImportRules(['os.environ'], ['subprocess', 'Some Thing', 'zod']);
    assert.deepEqual([...rules.unknown].sort(), ['Some Thing', 'os.environ']);
  });

  test('trusted roots are absolute and end in a separator', () => {
    const rules = resolveImportRules([], [], { trustedRoots: ['/opt/plugboard/src', '/opt/plugboard/dist/'] });
    assert.deepEqual(rules.trustedRoots, ['/opt/plugboard/src/', '/opt/plugboard/dist/']);
  });
});

describe('checkImport', () => {
  test('names the module and the rule that denies it', () => {
    const rules = resolveImportRules([], ['subprocess']);
    assert.equal(
      reasonOf(checkImport(rules, 'node:child_process', PLUGIN)),
      '"node:child_process" is denied by denied_imports ("subprocess")',
    );
    assert.equal(
      reasonOf(checkImport(rules, 'child_process')),
      '"node:child_process" is denied by denied_imports ("subprocess")',
    );
    assert.deepEqual(checkImport(rules, 'node:fs', PLUGIN), { ok: true });
  });

  test('with an allowed list only what it lists passes', () => {
    const rules = resolveImportRules(['asyncio', 'logging'], []);
    assert.deepEqual(checkImport(rules, 'node:events', PLUGIN), { ok: true });
    assert.deepEqual(checkImport(rules, 'timers/promises', PLUGIN), { ok: true });
    assert.equal(
      reasonOf(checkImport(rules, 'node:fs', PLUGIN)),
      '"node:fs" is not allowed: allowed_imports lists only asyncio, logging',
    );
    assert.equal(
      reasonOf(checkImport(rules, 'zod', PLUGIN)),
      '"zod" is not allowed: allowed_imports lists only asyncio, logging',
    );
  });

  test('denied wins over allowed', () => {
    const rules = resolveImportRules(['open', 'zod'], ['fs', 'zod']);
    assert.equal(
      reasonOf(checkImport(rules, 'node:fs/promises')),
      '"node:fs/promises" is denied by denied_imports ("fs") (through "node:fs")',
    );
    assert.equal(reasonOf(checkImport(rules, 'zod')), '"zod" is denied by denied_imports ("zod")');
  });

  test('a rule on a module covers its subpaths, not its parent', () => {
    const deniedParent = resolveImportRules([], ['fs', 'lodash', 'http']);
    assert.equal(checkImport(deniedParent, 'fs/promises').ok, false);
    assert.equal(checkImport(deniedParent, 'lodash/fp').ok, false);
    assert.equal(checkImport(deniedParent, '_http_client').ok, false, 'an old alias of http');
    const deniedChild = resolveImportRules([], ['fs/promises']);
    assert.equal(checkImport(deniedChild, 'node:fs').ok, true);
    const allowedScope = resolveImportRules(['@scope/pkg'], []);
    assert.equal(checkImport(allowedScope, '@scope/pkg/sub').ok, true);
    assert.equal(checkImport(allowedScope, '@scope/other').ok, false);
  });

  test('files are always allowed; data: and other URLs never', () => {
    const rules = resolveImportRules(['asyncio'], ['fs']);
    for (const file of ['./helper.ts', '../shared/x.mjs', '/srv/plugins/mine/x.js', 'file:///srv/x.ts', '.', '..']) {
      assert.deepEqual(checkImport(rules, file, PLUGIN), { ok: true }, file);
    }
    const open = resolveImportRules([], []);
    assert.match(
      reasonOf(checkImport(open, 'data:text/javascript,export default 1')),
      /data: URL module is code from a string/,
    );
    assert.match(reasonOf(checkImport(open, 'https://example.com/x.js')), /files, Node modules and packages only/);
  });

  test("Plugboard's own entry points are allowed under any list", () => {
    const rules = resolveImportRules(['asyncio'], ['plugboard']);
    for (const entry of ['plugboard', 'plugboard/testing', 'plugboard:shared/index']) {
      assert.deepEqual(checkImport(rules, entry, PLUGIN), { ok: true }, entry);
    }
    assert.equal(checkImport(rules, 'plugboard-extra', PLUGIN).ok, false, 'another package whose name starts alike');
  });

  test("imports by Plugboard's own code and by packages are not checked", () => {
    const rules = resolveImportRules(['asyncio'], ['subprocess'], { trustedRoots: ['/opt/plugboard/src'] });
    assert.deepEqual(checkImport(rules, 'node:child_process', '/opt/plugboard/src/core/x.ts'), { ok: true });
    assert.deepEqual(checkImport(rules, 'node:child_process', 'file:///opt/plugboard/src/core/x.ts'), { ok: true });
    assert.deepEqual(checkImport(rules, 'node:child_process', '/srv/plugins/mine/node_modules/execa/index.js'), {
      ok: true,
    });
    assert.equal(
      checkImport(rules, 'node:child_process', '/opt/plugboard/src-other/x.ts').ok,
      false,
      'a sibling folder',
    );
    assert.equal(checkImport(rules, 'node:child_process', PLUGIN).ok, false);
    assert.equal(checkImport(rules, 'node:child_process', 'relative/x.ts').ok, false, 'a relative importer is unknown');
    assert.equal(isExemptImporter(rules, '/opt/plugboard/src/x.ts'), true);
  });

  test('the lists can be named otherwise in messages', () => {
    const rules = resolveImportRules(['asyncio'], DEFAULT_SANDBOX_DENIED, {
      deniedLabel: "the sandbox's default denied imports",
      allowedLabel: 'plugins.x.sandbox.allowed_imports',
    });
    assert.equal(
      reasonOf(checkImport(rules, 'vm')),
      `"node:vm" is denied by the sandbox's default denied imports ("vm")`,
    );
    assert.equal(
      reasonOf(checkImport(rules, 'fs')),
      '"node:fs" is not allowed: plugins.x.sandbox.allowed_imports lists only asyncio',
    );
  });
});

describe('DEFAULT_SANDBOX_DENIED', () => {
  test('denies the process, thread, code and debugging modules and jiti, and leaves module alone', () => {
    const rules = resolveImportRules([], DEFAULT_SANDBOX_DENIED);
    for (const name of [
      'child_process',
      'cluster',
      'worker_threads',
      'vm',
      'inspector',
      'repl',
      'wasi',
      'v8',
      'trace_events',
    ]) {
      assert.equal(checkImport(rules, `node:${name}`, PLUGIN).ok, false, name);
      assert.ok(builtinName(name) !== undefined, `${name} is a Node built-in`);
    }
    assert.equal(checkImport(rules, 'node:inspector/promises', PLUGIN).ok, false);
    assert.equal(checkImport(rules, 'jiti', PLUGIN).ok, false);
    assert.deepEqual(checkImport(rules, 'node:module', PLUGIN), { ok: true });
    assert.deepEqual(checkImport(rules, 'node:fs', PLUGIN), { ok: true });
    assert.deepEqual(rules.unknown, []);
  });
});
