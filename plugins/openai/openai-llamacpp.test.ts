/**
 * The openai backend against a real OpenAI-compatible server with real inference: a Plugboard
 * instance serving `/v1` over the llamacpp backend (the tiny random GGUF model), and the
 * official `openai` client inside this plugin on the other side. Gibberish text: the
 * assertions are about structure, token counts and determinism.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PluginManager } from '../../src/index.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { createLlamaCppBackend } from '../llamacpp/llamacpp.plugin.ts';
import { createOpenAiBackend } from './openai.plugin.ts';

let upstream: TestServer;
let manager: PluginManager;

before(async () => {
  const modelPath = await tinyGgufFile();
  upstream = await startTestServer([
    [createLlamaCppBackend(), { config: { model_path: modelPath, model_id: 'tiny', threads: 1 } }],
  ]);
  manager = await startManager([
    [createOpenAiBackend(), { config: { base_url: `${upstream.url}/v1`, api_key: 'local' } }],
  ]);
});
after(async () => {
  await manager?.shutdown();
  await upstream?.close();
});

describe('openai backend → Plugboard /v1 → llamacpp (real inference)', () => {
  const ask = (stream: boolean) =>
    chatRequest('Tell me about the sea', {
      model: 'llamacpp/tiny',
      stream,
      options: { temperature: 0, maxTokens: 8, seed: 1 },
    });

  test('a whole reply: text, exact completion tokens, finish reason length', async () => {
    const response = await manager.chat(ask(false));
    assert.equal(response.backend, 'openai');
    assert.ok(response.message.content.length > 0);
    assert.equal(response.usage?.completionTokens, 8);
    assert.equal(response.finishReason, 'length');
  });

  test('a streamed reply (with usage) is the same text at temperature 0', async () => {
    const whole = await manager.chat(ask(false));
    const streamed = await collectStream(manager.stream(ask(true)));
    assert.ok(streamed.chunks.filter((chunk) => chunk.content).length > 1);
    assert.equal(streamed.text, whole.message.content);
    assert.equal(streamed.response.usage?.completionTokens, 8);
  });

  test('models come from GET /v1/models of the upstream', async () => {
    const models = await manager.getBackendProvider('openai')!.listModels();
    assert.ok(models.ok);
    assert.ok(models.value.some((model) => model.id === 'llamacpp/tiny'));
  });
});
