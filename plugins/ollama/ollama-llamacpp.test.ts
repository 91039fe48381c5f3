/**
 * The ollama backend against a real Ollama-protocol server with real inference: a Plugboard
 * instance serving its Ollama-compatible API over the llamacpp backend (the tiny random GGUF
 * model), and the official `ollama` client inside this plugin on the other side. The model
 * writes gibberish: the assertions are about structure, token counts and determinism.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PluginManager } from '../../src/index.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { createLlamaCppBackend } from '../llamacpp/llamacpp.plugin.ts';
import { createOllamaBackend } from './ollama.plugin.ts';

let upstream: TestServer;
let manager: PluginManager;

before(async () => {
  const modelPath = await tinyGgufFile();
  upstream = await startTestServer([
    [createLlamaCppBackend(), { config: { model_path: modelPath, model_id: 'tiny', threads: 1 } }],
  ]);
  manager = await startManager([[createOllamaBackend(), { config: { host: upstream.url } }]]);
});
after(async () => {
  await manager?.shutdown();
  await upstream?.close();
});

describe('ollama backend → Plugboard Ollama API → llamacpp (real inference)', () => {
  const ask = (stream: boolean) =>
    chatRequest('Tell me about the sea', {
      model: 'llamacpp/tiny',
      stream,
      options: { temperature: 0, maxTokens: 8, seed: 1 },
    });

  test('a whole reply: text, exact completion tokens, finish reason length', async () => {
    const response = await manager.chat(ask(false));
    assert.equal(response.backend, 'ollama');
    assert.ok(response.message.content.length > 0);
    assert.equal(response.usage?.completionTokens, 8);
    assert.ok((response.usage?.promptTokens ?? 0) > 0);
    assert.equal(response.finishReason, 'length');
  });

  test('a streamed reply is the same text, in several chunks, at temperature 0', async () => {
    const whole = await manager.chat(ask(false));
    const streamed = await collectStream(manager.stream(ask(true)));
    assert.ok(streamed.chunks.filter((chunk) => chunk.content).length > 1, 'more than one content chunk');
    assert.equal(streamed.text, whole.message.content);
    assert.equal(streamed.response.usage?.completionTokens, 8);
  });

  test('the upstream model is listed through /api/tags', async () => {
    const models = await manager.getBackendProvider('ollama')!.listModels();
    assert.ok(models.ok);
    assert.ok(models.value.some((model) => model.id === 'llamacpp/tiny'));
  });
});
