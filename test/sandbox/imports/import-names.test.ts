import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, test } from 'node:test';
import {
  builtinName,
  builtinRuleKeys,
  IMPORT_NAME_TABLE,
  packageOfFile,
  packageRuleKeys,
  translateImportName,
} from '../../../src/sandbox/imports/import-names.ts';

describe('IMPORT_NAME_TABLE', () => {
  test('every module it names is a Node built-in (a typo would deny or allow nothing)', () => {
    for (const [name, mapping] of Object.entries(IMPORT_NAME_TABLE)) {
      for (const module of mapping.modules) {
        assert.ok(builtinName(module) !== undefined, `${name} → ${module} is no Node built-in`);
      }
    }
  });

  test('maps the spec names as agreed', () => {
    const expected: Record<string, { modules: string[]; capabilities?: string[] }> = {
      subprocess: { modules: ['child_process'] },
      'os.system': { modules: ['child_process'] },
      'os.popen': { modules: ['child_process'] },
      'os.exec': { modules: ['child_process'] },
      'os.spawn': { modules: ['child_process'] },
      multiprocessing: { modules: ['child_process', 'cluster', 'worker_threads'] },
      threading: { modules: ['worker_threads'] },
      eval: { modules: ['vm'], capabilities: ['code-generation'] },
      exec: { modules: ['vm'], capabilities: ['code-generation'] },
      compile: { modules: ['vm'], capabilities: ['code-generation'] },
      socket: { modules: ['net', 'dgram', 'tls', 'http2'], capabilities: ['network'] },
      'http.client': { modules: ['http', 'https', 'http2'], capabilities: ['network'] },
      urllib: { modules: ['http', 'https', 'http2'], capabilities: ['network'] },
      'urllib.request': { modules: ['http', 'https', 'http2'], capabilities: ['network'] },
      requests: { modules: ['http', 'https', 'http2'], capabilities: ['network'] },
      httpx: { modules: ['http', 'https', 'http2'], capabilities: ['network'] },
      ctypes: { modules: [], capabilities: ['native-addons'] },
      cffi: { modules: [], capabilities: ['native-addons'] },
      importlib: { modules: ['module'] },
      pickle: { modules: ['v8'] },
      marshal: { modules: ['v8'] },
      asyncio: { modules: ['events', 'timers', 'timers/promises'] },
      logging: { modules: ['console'] },
      datetime: { modules: ['perf_hooks', 'timers'] },
      time: { modules: ['perf_hooks', 'timers'] },
      os: { modules: ['os'] },
      'os.path': { modules: ['path'] },
      pathlib: { modules: ['path'] },
      shutil: { modules: ['fs', 'fs/promises'] },
      io: { modules: ['fs', 'fs/promises'] },
      open: { modules: ['fs', 'fs/promises'] },
      tempfile: { modules: ['fs', 'fs/promises'] },
      hashlib: { modules: ['crypto'] },
      hmac: { modules: ['crypto'] },
      secrets: { modules: ['crypto'] },
      base64: { modules: ['buffer'] },
      inspect: { modules: ['inspector'] },
    };
    for (const [name, { modules, capabilities = [] }] of Object.entries(expected)) {
      const mapping = IMPORT_NAME_TABLE[name];
      assert.ok(mapping !== undefined, `${name} is missing from the table`);
      assert.deepEqual([...mapping.modules].sort(), [...modules].sort(), `${name}: modules`);
      assert.deepEqual([...(mapping.capabilities ?? [])].sort(), [...capabilities].sort(), `${name}: capabilities`);
    }
  });

  test("the folder's README lists every name of the table", () => {
    const readme = readFileSync(new URL('../../../src/sandbox/imports/README.md', import.meta.url), 'utf8');
    const tableRows = readme.split('\n').filter((line) => line.startsWith('| `'));
    for (const name of Object.keys(IMPORT_NAME_TABLE)) {
      assert.ok(
        tableRows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)),
        `README.md's table does not list ${name}`,
      );
    }
  });
});

describe('translateImportName', () => {
  test('a spec name becomes node: keys and capabilities', () => {
    assert.deepEqual(translateImportName('subprocess'), {
      kind: 'spec',
      keys: ['node:child_process'],
      capabilities: [],
    });
    assert.deepEqual(translateImportName('eval'), {
      kind: 'spec',
      keys: ['node:vm'],
      capabilities: ['code-generation'],
    });
    assert.deepEqual(translateImportName(' asyncio '), {
      kind: 'spec',
      keys: ['node:events', 'node:timers', 'node:timers/promises'],
      capabilities: [],
    });
  });

  test('a Node name stands for itself, with or without node:', () => {
    assert.deepEqual(translateImportName('fs'), { kind: 'node', keys: ['node:fs'], capabilities: [] });
    assert.deepEqual(translateImportName('node:fs'), { kind: 'node', keys: ['node:fs'], capabilities: [] });
    assert.deepEqual(translateImportName('fs/promises'), {
      kind: 'node',
      keys: ['node:fs/promises'],
      capabilities: [],
    });
    assert.deepEqual(translateImportName('node:test'), { kind: 'node', keys: ['node:test'], capabilities: [] });
  });

  test('any other name is an npm package; Python-looking or invalid ones are flagged unknown', () => {
    assert.deepEqual(translateImportName('zod'), { kind: 'package', keys: ['zod'], capabilities: [] });
    assert.deepEqual(translateImportName('@scope/pkg/sub'), {
      kind: 'package',
      keys: ['@scope/pkg/sub'],
      capabilities: [],
    });
    assert.equal(translateImportName('test').kind, 'package', 'bare "test" is no built-in (only node:test is)');
    assert.deepEqual(translateImportName('os.environ'), { kind: 'unknown', keys: ['os.environ'], capabilities: [] });
    assert.equal(translateImportName('Not A Package').kind, 'unknown');
  });
});

describe('built-in names and rule keys', () => {
  test('builtinName knows prefixed-only modules and refuses made-up ones', () => {
    assert.equal(builtinName('node:test'), 'test');
    assert.equal(builtinName('test'), undefined);
    assert.equal(builtinName('node:fs/promises'), 'fs/promises');
    assert.equal(builtinName('node:no-such-module'), undefined);
    assert.equal(builtinName('zod'), undefined);
    for (const name of builtinModules) assert.equal(builtinName(name), name, name);
  });

  test('a built-in is governed by itself, its parents and the module an old alias belongs to', () => {
    assert.deepEqual(builtinRuleKeys('fs/promises'), ['node:fs/promises', 'node:fs']);
    assert.deepEqual(builtinRuleKeys('_http_client'), ['node:_http_client', 'node:http']);
    assert.deepEqual(builtinRuleKeys('sys'), ['node:sys', 'node:util']);
    assert.deepEqual(builtinRuleKeys('child_process'), ['node:child_process']);
  });

  test('a package specifier is governed by itself and each shorter path', () => {
    assert.deepEqual(packageRuleKeys('lodash/fp/map'), ['lodash/fp/map', 'lodash/fp', 'lodash']);
    assert.deepEqual(packageRuleKeys('@scope/pkg'), ['@scope/pkg', '@scope']);
    assert.deepEqual(packageRuleKeys('zod'), ['zod']);
  });
});

describe('packageOfFile', () => {
  test('names the package of the innermost node_modules folder', () => {
    assert.equal(packageOfFile('/srv/app/node_modules/zod/index.js'), 'zod');
    assert.equal(packageOfFile('/srv/app/node_modules/@scope/pkg/dist/x.js'), '@scope/pkg');
    assert.equal(packageOfFile('/srv/node_modules/a/node_modules/b/lib/b.js'), 'b');
    assert.equal(packageOfFile('/srv/node_modules/.pnpm/x@1/node_modules/x/i.js'), 'x');
    assert.equal(packageOfFile('C:\\app\\node_modules\\zod\\index.js'), 'zod');
  });

  test('is undefined outside node_modules', () => {
    assert.equal(packageOfFile('/srv/plugins/mine/index.ts'), undefined);
    assert.equal(packageOfFile('/srv/node_modules'), undefined);
    assert.equal(packageOfFile('/srv/node_modules/@scope'), undefined);
  });
});
