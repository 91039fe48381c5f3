import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSilentLogger, definePlugin, PluginManager } from '../../src/index.ts';
import { chatRequest, createScriptedBackend } from '../../src/testing/index.ts';

describe('manager options', () => {
  test('hook handlers get defaultHookTimeoutMs, method calls defaultTimeoutMs', async () => {
    const manager = new PluginManager({
      logger: createSilentLogger(),
      defaultTimeoutMs: 60_000,
      defaultHookTimeoutMs: 30,
    });
    const stalled = definePlugin({
      metadata: { name: 'stalled', version: '1.0.0' },
      // A hook that never answers: only the hook timeout can release the request.
      onRequestStart: () => new Promise<undefined>(() => {}),
    });
    await manager.register(createScriptedBackend());
    await manager.register(stalled);
    await manager.initialize();
    const status = manager.getPluginStatus().plugins.stalled;
    assert.equal(status?.timeoutMs, 60_000);
    const response = await manager.chat(chatRequest('hi'));
    const step = response.steps.find((candidate) => candidate.plugin === 'stalled');
    assert.equal(step?.outcome, 'bypassed');
    assert.equal(step?.errorCode, 'PLUGIN_TIMEOUT');
    assert.equal(response.message.content, 'You said: hi');
    await manager.shutdown();
  });

  test('a plugin timeout from its settings covers its hooks too', async () => {
    const manager = new PluginManager({ logger: createSilentLogger(), defaultHookTimeoutMs: 60_000 });
    const stalled = definePlugin({
      metadata: { name: 'stalled', version: '1.0.0' },
      onRequestStart: () => new Promise<undefined>(() => {}),
    });
    await manager.register(createScriptedBackend());
    await manager.register(stalled, { timeoutMs: 30 });
    await manager.initialize();
    const response = await manager.chat(chatRequest('hi'));
    assert.equal(response.steps.find((step) => step.plugin === 'stalled')?.errorCode, 'PLUGIN_TIMEOUT');
    await manager.shutdown();
  });

  test('maxConcurrentPlugins bounds how many plugins initialize at once', async () => {
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const slow = (name: string) =>
      definePlugin({
        metadata: { name, version: '1.0.0' },
        initialize: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise<void>((resolve) => gates.push(resolve));
          running--;
        },
        onRequestEnd: () => undefined,
      });
    const manager = new PluginManager({ logger: createSilentLogger(), maxConcurrentPlugins: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await manager.register(slow(name));
    const started = manager.initialize();
    // Release the initializations one at a time as they queue up.
    let released = 0;
    while (released < 5) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = gates.shift();
      if (next === undefined) continue;
      assert.ok(running <= 2, `at most 2 initialize at once, saw ${running}`);
      next();
      released++;
    }
    await started;
    assert.equal(most, 2);
    const states = Object.values(manager.getPluginStatus().plugins).map((plugin) => plugin.state);
    assert.deepEqual(states, ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);
    await manager.shutdown();
  });
});
