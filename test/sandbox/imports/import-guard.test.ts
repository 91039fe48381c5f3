/*
 * The import guard in real child processes: each runs fixtures/guard-driver.ts, which installs
 * the guard and loads fixture plugins through loadPluginModule. Most run under tsx without the
 * permission model (tsx's loader needs a worker thread, which the permission model forbids);
 * one runs the driver through jiti under the permission model, as the sandbox child does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_SANDBOX_DENIED } from '../../../src/sandbox/imports/import-policy.ts';
import type { DriverInput, DriverOutcome, DriverOutput } from './fixtures/guard-driver.ts';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PLUGINS = join(FIXTURES, 'plugins');
const CHILD_TIMEOUT_MS = 60_000;

/** Runs the driver in a child process: under tsx, or through jiti under the permission model. */
async function runDriver(input: DriverInput, { permission = false } = {}): Promise<DriverOutput> {
  const args = permission
    ? [
        process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission',
        ...['src/', 'node_modules/', 'package.json', 'test/sandbox/imports/fixtures/'].map(
          (path) => `--allow-fs-read=${join(ROOT, path)}`,
        ),
        '--disallow-code-generation-from-strings',
        '--enable-source-maps',
        '--no-warnings',
        join(FIXTURES, 'permission-entry.mjs'),
      ]
    : ['--import', 'tsx', join(FIXTURES, 'guard-driver.ts')];
  const { stdout } = await run(process.execPath, [...args, JSON.stringify(input)], {
    cwd: ROOT,
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 4 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as DriverOutput;
}

function outcome(output: DriverOutput, file: string): DriverOutcome {
  const found = output.outcomes.find((candidate) => candidate.file === file);
  assert.ok(found !== undefined, `no outcome for ${file}`);
  return found;
}

/** Asserts that the plugin was refused at load with PLUGIN_IMPORT_DENIED, and returns the message. */
function refusedAtLoad(output: DriverOutput, file: string): string {
  const result = outcome(output, file);
  assert.equal(result.loaded, false, `${file} should have been refused`);
  assert.equal(result.error?.code, 'PLUGIN_IMPORT_DENIED', `${file}: ${result.error?.message}`);
  return result.error!.message;
}

/** The replies (or `CODE: message`) of a loaded plugin's calls. */
function calls(output: DriverOutput, file: string): string[] {
  const result = outcome(output, file);
  assert.equal(result.loaded, true, `${file} should have loaded: ${result.error?.code} ${result.error?.message}`);
  return (result.calls ?? []).map((call) => ('reply' in call ? call.reply : `${call.code}: ${call.message}`));
}

const CHILD_PROCESS_DENIED = '"node:child_process" is denied by denied_imports ("subprocess")';

describe('the import guard, with denied_imports', { timeout: 2 * CHILD_TIMEOUT_MS }, () => {
  let output: DriverOutput;
  before(async () => {
    output = await runDriver({
      allowed: [],
      denied: ['subprocess', 'readline', 'ctypes'],
      plugins: [
        { file: 'static-import.plugin.ts' },
        { file: 'dynamic-import.plugin.ts', inputs: ['go'] },
        { file: 'require-builtin.plugin.cjs' },
        { file: 'require-later.plugin.cjs', inputs: ['require', 'import'] },
        { file: 'npm-esm.plugin.ts', inputs: ['a b'] },
        { file: 'npm-cjs.plugin.ts', inputs: ['1.2.3'] },
        { file: 'package-internals.plugin.ts', inputs: ['package', 'own'] },
        { file: 'relative-imports.plugin.ts', inputs: ['hello'] },
        { file: 'own-module-spawner.plugin.ts' },
        { file: 'side-doors.plugin.ts', inputs: ['go'] },
      ],
    });
  });

  test('(a) a static import of a denied built-in refuses the plugin at load', () => {
    const message = refusedAtLoad(output, 'static-import.plugin.ts');
    assert.ok(message.includes(CHILD_PROCESS_DENIED), message);
    assert.ok(
      message.startsWith(join(PLUGINS, 'static-import.plugin.ts')),
      `the message starts with the file: ${message}`,
    );
  });

  test('(b) a dynamic import in a function run later is refused when it runs', () => {
    const [reply] = calls(output, 'dynamic-import.plugin.ts');
    assert.ok(reply?.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`), reply);
    assert.ok(reply?.includes(`imported by ${join(PLUGINS, 'dynamic-import.plugin.ts')}`), reply);
  });

  test('(c) require in a CommonJS plugin, at load and later (and import() there too)', () => {
    const atLoad = refusedAtLoad(output, 'require-builtin.plugin.cjs');
    assert.ok(atLoad.includes(CHILD_PROCESS_DENIED), atLoad);
    const replies = calls(output, 'require-later.plugin.cjs');
    assert.equal(replies.length, 2);
    for (const reply of replies) assert.ok(reply.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`), reply);
  });

  test('(d) npm packages that are not denied load, ES module and CommonJS', () => {
    assert.deepEqual(calls(output, 'npm-esm.plugin.ts'), ['a+b']);
    assert.deepEqual(calls(output, 'npm-cjs.plugin.ts'), ['1.3.0']);
  });

  test("what a package imports inside is not checked; the plugin's own import of the same module is", () => {
    const [packageReply, ownReply] = calls(output, 'package-internals.plugin.ts');
    assert.equal(packageReply, 'function', 'cli-progress requires node:readline itself');
    assert.ok(
      ownReply?.startsWith('PLUGIN_IMPORT_DENIED: "node:readline" is denied by denied_imports ("readline")'),
      ownReply,
    );
  });

  test("the plugin's own files load: TypeScript, ES module and CommonJS, statically and dynamically", () => {
    assert.deepEqual(calls(output, 'relative-imports.plugin.ts'), ['HELLO cjs-helper!!']);
  });

  test("an own .mjs file's imports are checked too, naming that file", () => {
    const message = refusedAtLoad(output, 'own-module-spawner.plugin.ts');
    assert.ok(message.includes(CHILD_PROCESS_DENIED), message);
    assert.ok(message.includes(`imported by ${join(PLUGINS, 'helpers', 'spawner.mjs')}`), message);
  });

  test('getBuiltinModule, createRequire, a native require of an own file, data: URLs and addons are refused', () => {
    const [reply] = calls(output, 'side-doors.plugin.ts');
    const attempts = JSON.parse(reply ?? '{}') as Record<string, string>;
    assert.ok(
      attempts.getBuiltinModule?.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`),
      attempts.getBuiltinModule,
    );
    assert.ok(
      attempts.createRequire?.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`),
      attempts.createRequire,
    );
    assert.match(
      attempts.requireOwnFileNatively ?? '',
      /^PLUGIN_IMPORT_DENIED: .*cjs-helper\.cjs" cannot be loaded by Node's own require/,
    );
    assert.match(attempts.dataUrl ?? '', /^PLUGIN_IMPORT_DENIED: "data:text\/javascript,export default 1" is denied/);
    assert.match(
      attempts.nativeAddon ?? '',
      /^PLUGIN_IMPORT_DENIED: "\/nowhere\/addon\.node" is a native addon: "capability:native-addons" is denied by denied_imports \("ctypes"\)/,
    );
    assert.equal(attempts.allowedBuiltin, 'loaded object', 'node:os is not denied');
  });

  test('installing the guard twice is refused', () => {
    assert.equal(output.secondInstall, 'the import guard is already installed in this process');
  });
});

describe('the import guard, denying packages', { timeout: 2 * CHILD_TIMEOUT_MS }, () => {
  test('an ES module package and a CommonJS package are refused by name', async () => {
    const output = await runDriver({
      allowed: [],
      denied: ['zod', 'semver'],
      plugins: [
        { file: 'npm-esm.plugin.ts' },
        { file: 'npm-cjs.plugin.ts' },
        { file: 'plain-relative.plugin.ts', inputs: ['a b'] },
      ],
    });
    const esm = refusedAtLoad(output, 'npm-esm.plugin.ts');
    assert.ok(esm.includes('"zod" is denied by denied_imports ("zod")'), esm);
    const cjs = refusedAtLoad(output, 'npm-cjs.plugin.ts');
    assert.ok(cjs.includes('"semver" is denied by denied_imports ("semver")'), cjs);
    assert.deepEqual(calls(output, 'plain-relative.plugin.ts'), ['b a']);
  });
});

describe('the import guard, with allowed_imports [asyncio, logging]', { timeout: 2 * CHILD_TIMEOUT_MS }, () => {
  test('node:events passes, node:fs and packages do not, own files do', async () => {
    const output = await runDriver({
      allowed: ['asyncio', 'logging'],
      denied: [],
      plugins: [
        { file: 'events-and-fs.plugin.ts', inputs: ['events', 'fs'] },
        { file: 'npm-cjs.plugin.ts' },
        { file: 'plain-relative.plugin.ts', inputs: ['a b'] },
        { file: 'relative-imports.plugin.ts' },
      ],
    });
    const [events, fs] = calls(output, 'events-and-fs.plugin.ts');
    assert.equal(events, '0', 'node:events was imported at load');
    assert.ok(
      fs?.startsWith('PLUGIN_IMPORT_DENIED: "node:fs" is not allowed: allowed_imports lists only asyncio, logging'),
      fs,
    );
    const semver = refusedAtLoad(output, 'npm-cjs.plugin.ts');
    assert.ok(semver.includes('"semver" is not allowed'), semver);
    assert.deepEqual(calls(output, 'plain-relative.plugin.ts'), ['b a']);
    const ownImports = refusedAtLoad(output, 'relative-imports.plugin.ts');
    assert.ok(
      ownImports.includes('is not allowed: allowed_imports lists only asyncio, logging (imported by '),
      ownImports,
    );
  });
});

describe("the import guard and Plugboard's own code", { timeout: 3 * CHILD_TIMEOUT_MS }, () => {
  const input: DriverInput = {
    allowed: [],
    denied: [...DEFAULT_SANDBOX_DENIED],
    plugins: [{ file: 'plugboard-package.plugin.ts', inputs: ['x'] }],
  };

  test("`from 'plugboard'` loads a fresh copy of Plugboard whose imports (jiti among them) pass", async () => {
    assert.deepEqual(calls(await runDriver(input), 'plugboard-package.plugin.ts'), ['plugboard']);
  });

  test("'plugboard' is the running server's own module, not a copy: no rule of the plugin's applies inside it", async () => {
    // module-loader.ts shares Plugboard's entry points with plugins by package name too, so even
    // without Plugboard's folders as trusted roots nothing of Plugboard is compiled (and checked) afresh.
    assert.deepEqual(calls(await runDriver({ ...input, trustSources: false }), 'plugboard-package.plugin.ts'), [
      'plugboard',
    ]);
  });
});

describe('the import guard under the permission model', { timeout: 2 * CHILD_TIMEOUT_MS }, () => {
  test('the same refusals and loads, with jiti running the sources as in the sandbox child', async () => {
    const output = await runDriver(
      {
        allowed: [],
        denied: ['subprocess'],
        plugins: [
          { file: 'static-import.plugin.ts' },
          { file: 'dynamic-import.plugin.ts', inputs: ['go'] },
          { file: 'require-later.plugin.cjs', inputs: ['require', 'import'] },
          { file: 'npm-cjs.plugin.ts', inputs: ['1.2.3'] },
          { file: 'relative-imports.plugin.ts', inputs: ['hello'] },
          { file: 'own-module-spawner.plugin.ts' },
        ],
      },
      { permission: true },
    );
    const staticImport = refusedAtLoad(output, 'static-import.plugin.ts');
    assert.ok(staticImport.includes(CHILD_PROCESS_DENIED), staticImport);
    const [dynamicImport] = calls(output, 'dynamic-import.plugin.ts');
    assert.ok(dynamicImport?.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`), dynamicImport);
    const later = calls(output, 'require-later.plugin.cjs');
    assert.equal(later.length, 2);
    for (const reply of later) assert.ok(reply.startsWith(`PLUGIN_IMPORT_DENIED: ${CHILD_PROCESS_DENIED}`), reply);
    assert.deepEqual(calls(output, 'npm-cjs.plugin.ts'), ['1.3.0']);
    assert.deepEqual(calls(output, 'relative-imports.plugin.ts'), ['HELLO cjs-helper!!']);
    const ownModule = refusedAtLoad(output, 'own-module-spawner.plugin.ts');
    assert.ok(ownModule.includes(CHILD_PROCESS_DENIED), ownModule);
  });
});
