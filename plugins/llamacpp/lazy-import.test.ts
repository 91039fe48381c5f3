/**
 * node-llama-cpp (~300 ms and ~20 MB to import) stays out of a server that has the llamacpp
 * backend enabled but has not used a model yet: starting it and probing its health import
 * nothing of it; listing the models (their GGUF headers) is what first imports it. Checked in
 * a child process whose module resolutions are recorded by a loader hook.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plugboard-lazy-import-'));
  await mkdir(join(dir, 'models'));
  await copyFile(await tinyGgufFile(), join(dir, 'models', 'tiny.gguf'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('starting the backend and its health check import no node-llama-cpp; listing models does', async () => {
  const log = join(dir, 'resolved.log');
  await writeFile(log, '');
  // Runs on the loader thread: appends every resolution of node-llama-cpp to the log file.
  await writeFile(
    join(dir, 'hook.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'let log;',
      'export function initialize(data) { log = data.log; }',
      'export async function resolve(specifier, context, next) {',
      "  if (/^node-llama-cpp(\\/|$)/.test(specifier)) appendFileSync(log, specifier + '\\n');",
      '  return next(specifier, context);',
      '}',
    ].join('\n'),
  );
  const plugin = pathToFileURL(join(REPO, 'plugins/llamacpp/llamacpp.plugin.ts')).href;
  const testing = pathToFileURL(join(REPO, 'src/testing/index.ts')).href;
  await writeFile(
    join(dir, 'child.mts'),
    [
      "import { readFileSync } from 'node:fs';",
      "import { register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(join(dir, 'hook.mjs')).href)}, { data: { log: ${JSON.stringify(log)} } });`,
      `const { LlamaCppBackend } = await import(${JSON.stringify(plugin)});`,
      `const { startManager } = await import(${JSON.stringify(testing)});`,
      'const backend = new LlamaCppBackend();',
      `const manager = await startManager([[backend, { config: { models_dir: ${JSON.stringify(join(dir, 'models'))} } }]]);`,
      'const health = await backend.healthCheck();',
      `const atStart = readFileSync(${JSON.stringify(log)}, 'utf8');`,
      "const listed = await manager.getBackendProvider('llamacpp').listModels();",
      `const afterListing = readFileSync(${JSON.stringify(log)}, 'utf8');`,
      'await manager.shutdown();',
      'console.log(JSON.stringify({ health: health.status, listed: listed.ok && listed.value.length, atStart, afterListing }));',
    ].join('\n'),
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(dir, 'child.mts')], {
    cwd: REPO,
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    health: string;
    listed: number;
    atStart: string;
    afterListing: string;
  };
  assert.equal(result.health, 'healthy');
  assert.equal(result.atStart, '', 'nothing of node-llama-cpp imported by start-up and the health check');
  assert.equal(result.listed, 1);
  assert.match(result.afterListing, /^node-llama-cpp$/m, 'the listing read the header with node-llama-cpp');
});
