/**
 * Memory over repeated reloads (FR-1.5: "changed plugin code re-imported without leaking the
 * old module"): a plugin file is rewritten 200 times, each time with a new constant, and
 * reloaded through ConfigRuntime. Each version of the module allocates a 1 MB array at
 * evaluation, reachable only from its module scope and its plugin instance.
 *
 * Two checks:
 * - every old instance is collectable: the plugin files register their instance in a list of
 *   WeakRefs, and after a full GC only the current one is still alive;
 * - heapUsed (after a full GC) grows by less than HEAP_BOUND_MB between a warmed-up baseline
 *   and the end. Justification of the bound: if old module versions were retained, 200 of
 *   them would hold 200 MB; even one retained in 25 would exceed 8 MB. What does grow without
 *   a leak, measured on this code: ~2–3 MB over 200 reloads, flattening out over more (the
 *   WeakMap tables of the Babel transformer inside jiti and V8's code metadata only reach
 *   their working size; 2,000 loads grow the heap by ~4 MB in all). 8 MB leaves ~3× headroom
 *   over that and stays far below what any real leak produces.
 *
 * GC is exposed at run time (`v8.setFlagsFromString('--expose-gc')`, then `gc` from a new
 * context): this file runs in its own process under `node --test`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { createSilentLogger } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const RELOADS = 200;
const WARM_UP = 20;
const PAYLOAD_ELEMENTS = 131_072; // × 8 bytes: 1 MB per module version
const HEAP_BOUND_MB = 8;

const instances: WeakRef<object>[] = [];
let live = 0;
(globalThis as Record<string, unknown>).__plugboardMemoryProbe = {
  track: (instance: object) => instances.push(new WeakRef(instance)),
  count: (delta: number) => {
    live += delta;
  },
};

function pluginSource(version: number): string {
  return `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
const probe = globalThis.__plugboardMemoryProbe;
const VERSION = ${version};
// 1 MB on the heap, different for every version, reachable from the module and the instance.
const PAYLOAD = Array.from({ length: ${PAYLOAD_ELEMENTS} }, (_, index) => index + VERSION);
export default () => {
  const plugin = defineMessageProcessor({
    metadata: { name: 'changing', version: '1.0.0' },
    direction: 'input',
    initialize() { probe.count(1); },
    processMessage: (message) => withContent(message, message.content + '[v' + VERSION + ':' + PAYLOAD[1] + ']'),
    shutdown() { probe.count(-1); },
  });
  probe.track(plugin);
  return plugin;
};
`;
}

const ECHO_SOURCE = `
import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat: (context) => ({ message: createMessage({ role: 'assistant', content: lastUserMessage(context)?.content ?? '' }) }),
  listModels: () => [{ id: 'echo' }],
});
`;

test(`${RELOADS} reloads of a changed plugin release every old version and keep heap growth under ${HEAP_BOUND_MB} MB`, {
  timeout: 180_000,
}, async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  /** heapUsed in MB after a full collection (after the current job, so WeakRefs can clear). */
  const heapAfterGc = async (): Promise<number> => {
    await nextTurn();
    for (let pass = 0; pass < 3; pass++) gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };

  const dir = await mkdtemp(join(tmpdir(), 'plugboard-memory-'));
  const pluginFile = join(dir, 'changing.plugin.ts');
  await writeFile(join(dir, 'echo.plugin.ts'), ECHO_SOURCE);
  await writeFile(pluginFile, pluginSource(0));
  await writeFile(
    join(dir, 'config.yaml'),
    [
      'mode: staging',
      'plugin_manager: { enable_hot_reload: false }',
      'backends: { echo: { plugin_file: echo.plugin.ts } }',
      'message_processors: { changing: { plugin_file: changing.plugin.ts } }',
      '',
    ].join('\n'),
  );
  const runtime = await ConfigRuntime.start({ file: join(dir, 'config.yaml'), env: {}, logger: createSilentLogger() });
  try {
    let version = 0;
    const reloadNewVersion = async () => {
      version++;
      await writeFile(pluginFile, pluginSource(version));
      const report = await runtime.reload();
      assert.deepEqual(report.applied, ['changing'], `reload to version ${version}: ${JSON.stringify(report.refused)}`);
    };
    const ask = async () => (await runtime.manager.chat(chatRequest('hi'))).message.content;

    for (let reload = 0; reload < WARM_UP; reload++) await reloadNewVersion();
    const baseline = await heapAfterGc();
    const started = performance.now();
    for (let reload = 0; reload < RELOADS; reload++) {
      await reloadNewVersion();
      if (reload % 20 === 0) assert.equal(await ask(), `hi[v${version}:${1 + version}]`);
    }
    const seconds = (performance.now() - started) / 1000;
    assert.equal(await ask(), `hi[v${version}:${1 + version}]`);
    const after = await heapAfterGc();

    // Every replaced instance was shut down, and none is still reachable.
    assert.equal(live, 1, 'one instance initialized and not shut down: the current one');
    assert.equal(instances.length, 1 + WARM_UP + RELOADS);
    const alive = instances.filter((reference) => reference.deref() !== undefined).length;
    assert.equal(alive, 1, `${alive} plugin instances still reachable after GC (only the current one should be)`);

    const growth = after - baseline;
    console.log(
      `# ${RELOADS} reloads in ${seconds.toFixed(1)} s (${((seconds * 1000) / RELOADS).toFixed(1)} ms each); ` +
        `heapUsed after GC ${baseline.toFixed(1)} → ${after.toFixed(1)} MB (growth ${growth.toFixed(2)} MB, bound ${HEAP_BOUND_MB} MB)`,
    );
    assert.ok(growth < HEAP_BOUND_MB, `heap grew by ${growth.toFixed(2)} MB over ${RELOADS} reloads`);
  } finally {
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(live, 0);
});
