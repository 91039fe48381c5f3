/**
 * How configuration decides and shapes sandboxing: `sandbox` on an entry, `trusted`,
 * `security.plugin_sandboxing.enabled`; a sandboxed plugin's config checked by its own schema in
 * its process (issues located in the file); what a sandboxed plugin cannot do refused by name;
 * and the supervisor giving up on a plugin that keeps crashing. Real child processes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const api = JSON.stringify(PLUGBOARD_SRC);
const zod = JSON.stringify(new URL('../../node_modules/zod/index.js', import.meta.url).pathname);

const STRICT = `
import { defineMessageProcessor } from ${api};
import { z } from ${zod};
export default defineMessageProcessor({
  metadata: { name: 'strict', version: '1.0.0', configSchema: z.strictObject({ level: z.number().int().min(1) }) },
  processMessage: (message) => message,
});
`;

const PLAIN = (name: string) => `
import { defineMessageProcessor } from ${api};
export default defineMessageProcessor({ metadata: { name: '${name}', version: '1.0.0' }, processMessage: (message) => message });
`;

const WITH_ENDPOINT = `
import { defineFeatureExtension } from ${api};
export default defineFeatureExtension({
  metadata: { name: 'endpointy', version: '1.0.0' },
  extend: (context) => context,
  endpoints: [{ method: 'GET', path: '/v1/endpointy', handle: () => ({ body: {} }) }],
});
`;

const CRASHER = `
import { defineMessageProcessor } from ${api};
// Crashes 100 ms after every start: the supervisor restarts it until it gives up.
export default defineMessageProcessor({
  metadata: { name: 'crasher', version: '1.0.0' },
  initialize() { setTimeout(() => { throw new Error('boom from a timer'); }, 100); },
  processMessage: (message) => message,
});
`;

async function start(
  files: Record<string, string>,
  config: string,
): Promise<{ runtime: ConfigRuntime; fixture: RuntimeFixture }> {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-sandbox-config-'));
  for (const [name, text] of Object.entries(files)) await fixture.write(name, text);
  await fixture.write('config.yaml', config);
  const runtime = await fixture.start();
  after(() => fixture.dispose());
  return { runtime, fixture };
}

describe('sandboxing from the configuration', () => {
  test("an invalid config is reported by the plugin's own schema, run in its process, with the key and line", async () => {
    const { runtime } = await start(
      { 'strict.plugin.ts': STRICT },
      'message_processors:\n  strict:\n    plugin_file: strict.plugin.ts\n    sandbox: true\n    config:\n      level: 0\n',
    );
    const status = runtime.manager.getPluginStatus().plugins.strict!;
    assert.equal(status.state, 'ERROR');
    assert.equal(status.lastError?.code, 'PLUGIN_CONFIG_INVALID');
    assert.match(status.lastError?.message ?? '', /message_processors\.strict\.config\.level/);
    assert.match(status.lastError?.message ?? '', /config\.yaml:6:/, 'located in the file');
  });

  test('security.plugin_sandboxing.enabled sandboxes every plugin but the trusted ones', async () => {
    const { runtime } = await start(
      { 'a.plugin.ts': PLAIN('a'), 'b.plugin.ts': PLAIN('b') },
      [
        'security:',
        '  plugin_sandboxing: { enabled: true, max_memory_mb: 192, max_cpu_percent: 40 }',
        'message_processors:',
        '  a: { plugin_file: a.plugin.ts }',
        '  b: { plugin_file: b.plugin.ts, trusted: true }',
      ].join('\n'),
    );
    const plugins = runtime.manager.getPluginStatus().plugins;
    const sandbox = plugins.a!.sandbox as { limits: { memoryMb: number; cpuPercent: number } } | undefined;
    assert.ok(sandbox, 'a (not trusted) runs sandboxed');
    assert.deepEqual([sandbox.limits.memoryMb, sandbox.limits.cpuPercent], [192, 40], 'with the global limits');
    assert.equal(plugins.b!.sandbox, undefined, 'b (trusted) runs in the server');
    assert.equal(plugins.a!.state, 'ACTIVE');
  });

  test('an entry cannot be both trusted and sandboxed', async () => {
    const { runtime } = await start(
      { 'a.plugin.ts': PLAIN('a') },
      'message_processors:\n  a: { plugin_file: a.plugin.ts, trusted: true, sandbox: true }\n',
    );
    assert.equal(
      runtime.manager.getPluginStatus().plugins.a,
      undefined,
      'the entry is rejected, not loaded either way',
    );
  });

  test('what a sandboxed plugin cannot do (HTTP endpoints) is refused by name, not silently dropped', async () => {
    const { runtime } = await start(
      { 'endpointy.plugin.ts': WITH_ENDPOINT },
      'features:\n  endpointy: { plugin_file: endpointy.plugin.ts, sandbox: true }\n',
    );
    const report = runtime.manager.getPluginStatus();
    const problem = [
      ...report.loadErrors,
      ...Object.values(report.plugins).flatMap((p) => (p.lastError ? [{ error: p.lastError }] : [])),
    ].find((entry) => entry.error.code === 'PLUGIN_SANDBOX_UNSUPPORTED');
    assert.ok(problem, 'PLUGIN_SANDBOX_UNSUPPORTED is reported');
    assert.match(problem.error.message, /HTTP endpoints/);
  });

  test('a plugin that keeps crashing is given up on: unhealthy, its calls fail at once, no more restarts', async () => {
    const { runtime } = await start(
      { 'crasher.plugin.ts': CRASHER },
      'message_processors:\n  crasher: { plugin_file: crasher.plugin.ts, sandbox: true }\n',
    );
    let sandbox: { state: string; restarts: number; lastExit?: { kind: string; detail: string } } = {
      state: '',
      restarts: 0,
    };
    for (let waited = 0; waited < 40_000 && sandbox.state !== 'failed'; waited += 250) {
      await sleep(250);
      sandbox = runtime.manager.getPluginStatus().plugins.crasher!.sandbox as typeof sandbox;
    }
    assert.equal(sandbox.state, 'failed', 'the supervisor gave up');
    assert.equal(sandbox.restarts, 4, 'after four restarts (five crashes within a minute)');
    assert.equal(sandbox.lastExit?.kind, 'crash');
    assert.match(sandbox.lastExit?.detail ?? '', /boom from a timer/, "the crash's own error, from its stderr");
    const health = await runtime.manager.getHealth();
    assert.equal(health.plugins.crasher?.health.status, 'unhealthy');
    await sleep(1000);
    const later = runtime.manager.getPluginStatus().plugins.crasher!.sandbox as typeof sandbox;
    assert.equal(later.restarts, 4, 'and stays given up');
  });
});
