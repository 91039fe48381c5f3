/**
 * The openai backend's model list, embeddings and health check against a real Plugboard
 * `/v1` server, and the plugin loaded from its file as the configuration loads it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSilentLogger, type EmbeddingResult, isPlugboardError, PluginManager } from '../../src/index.ts';
import { chatRequest, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createOpenAiBackend } from './openai.plugin.ts';

const upstreamBackend = createScriptedBackend({ name: 'up', models: ['small', 'large'] });
let upstream: TestServer;
let baseUrl: string;

before(async () => {
  upstream = await startTestServer([upstreamBackend]);
  baseUrl = `${upstream.url}/v1`;
});
after(() => upstream.close());

async function withPlugin<T>(config: Record<string, unknown>, run: (manager: PluginManager) => Promise<T>): Promise<T> {
  const manager = await startManager([[createOpenAiBackend(), { config }]]);
  try {
    return await run(manager);
  } finally {
    await manager.shutdown();
  }
}

describe('openai backend: models', () => {
  test('listModels asks GET /models (ids as the upstream names them, with created and owned_by)', async () => {
    await withPlugin({ base_url: baseUrl }, async (manager) => {
      const result = await manager.getBackendProvider('openai')!.listModels();
      assert.ok(result.ok, String(!result.ok && result.error));
      assert.deepEqual(
        result.value.map((model) => model.id),
        ['up/small', 'up/large'],
      );
      assert.equal(result.value[0]?.details?.owned_by, 'up');
      assert.equal(typeof result.value[0]?.details?.created, 'number');
    });
  });

  test('list_models as a fixed list, or false (then only default_model), does not ask the service', async () => {
    const unreachable = 'http://127.0.0.1:1/v1';
    await withPlugin({ base_url: unreachable, list_models: ['a', 'b'] }, async (manager) => {
      const result = await manager.getBackendProvider('openai')!.listModels();
      assert.deepEqual(result.ok && result.value, [{ id: 'a' }, { id: 'b' }]);
    });
    await withPlugin({ base_url: unreachable, list_models: false, default_model: 'only' }, async (manager) => {
      const result = await manager.getBackendProvider('openai')!.listModels();
      assert.deepEqual(result.ok && result.value, [{ id: 'only' }]);
    });
  });

  test('default_model answers requests that name no model', async () => {
    await withPlugin({ base_url: baseUrl, default_model: 'large' }, async (manager) => {
      await manager.chat(chatRequest('hi'));
      assert.equal(upstreamBackend.calls.at(-1)?.model, 'large');
    });
  });
});

describe('openai backend: embeddings', () => {
  test('embed returns the upstream vectors in order, with the token count', async () => {
    await withPlugin({ base_url: baseUrl }, async (manager) => {
      const input = ['hello world', 'bonjour'];
      const result = await manager.getBackendProvider('openai')!.embed({ model: 'small', input });
      assert.ok(result.ok, String(!result.ok && result.error));
      const expected = (await upstreamBackend.embed!({ model: 'small', input }, undefined as never)) as EmbeddingResult;
      assert.equal(result.value.embeddings.length, 2);
      for (const [index, vector] of result.value.embeddings.entries()) {
        const want = expected.embeddings[index]!;
        assert.equal(vector.length, want.length);
        // float32 on the wire (Plugboard answers float JSON, so they are equal to the digit)
        for (const [position, value] of vector.entries()) assert.ok(Math.abs(value - want[position]!) < 1e-6);
      }
      assert.equal(result.value.promptTokens, 3);
    });
  });
});

describe('openai backend: health', () => {
  test('healthy when the service lists its models', async () => {
    await withPlugin({ base_url: baseUrl }, async (manager) => {
      const health = await manager.getHealth();
      assert.equal(health.plugins.openai?.health.status, 'healthy');
      assert.match(health.plugins.openai?.health.message ?? '', /lists 2 models/);
    });
  });

  test('a service without /models is healthy while it answers (list_models fixed), unhealthy with list_models: true', async () => {
    const rootUrl = upstream.url; // no /v1: GET /models is a 404
    await withPlugin({ base_url: rootUrl, list_models: ['x'] }, async (manager) => {
      const health = await manager.getHealth();
      assert.equal(health.plugins.openai?.health.status, 'healthy');
      assert.match(health.plugins.openai?.health.message ?? '', /answers \(GET \/models: 404\)/);
    });
    await withPlugin({ base_url: rootUrl }, async (manager) => {
      const health = await manager.getHealth();
      assert.equal(health.plugins.openai?.health.status, 'unhealthy');
      assert.match(health.plugins.openai?.health.message ?? '', /answered 404 .*check base_url/);
    });
  });
});

describe('openai backend: credentials', () => {
  test('without api_key no Authorization header is sent; OPENAI_API_KEY is not sent to a configured base_url', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-from-environment';
    try {
      await withPlugin({ base_url: baseUrl }, async (manager) => {
        await manager.chat(chatRequest('hi', { model: 'openai/small' }));
        assert.equal(upstreamBackend.calls.at(-1)?.client?.headers?.authorization, undefined);
      });
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });

  test('organization and project are sent as OpenAI-Organization and OpenAI-Project', async () => {
    await withPlugin({ base_url: baseUrl, organization: 'org-1', project: 'proj-1' }, async (manager) => {
      await manager.chat(chatRequest('hi', { model: 'openai/small' }));
      const headers = upstreamBackend.calls.at(-1)?.client?.headers ?? {};
      assert.equal(headers['openai-organization'], 'org-1');
      assert.equal(headers['openai-project'], 'proj-1');
    });
  });
});

describe('openai backend: loaded from its file', () => {
  test('the module loads with its config, answers, and maps errors across the loader', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    const file = fileURLToPath(new URL('./openai.plugin.ts', import.meta.url));
    await manager.loadPlugin(file, { config: { base_url: baseUrl, api_key: 'test' } });
    await manager.initialize();
    try {
      const response = await manager.chat(chatRequest('from a file', { model: 'openai/small' }));
      assert.equal(response.message.content, 'You said: from a file');
      const error = await manager
        .chat(chatRequest('hi', { model: 'openai/missing' }))
        .catch((thrown: unknown) => thrown);
      assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'), String(error));
    } finally {
      await manager.shutdown();
    }
  });

  test('an invalid config keeps the plugin out, naming the key', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    const file = fileURLToPath(new URL('./openai.plugin.ts', import.meta.url));
    await manager.loadPlugin(file, { config: { base_url: 'localhost:8000', max_retry: 2 } });
    await manager.initialize();
    try {
      const status = manager.getPluginStatus().plugins.openai;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', /base_url: expected an http\(s\) URL/);
      assert.match(status?.lastError?.message ?? '', /max_retry/);
    } finally {
      await manager.shutdown();
    }
  });
});
