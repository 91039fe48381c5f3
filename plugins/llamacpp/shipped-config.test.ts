/**
 * The first run: `plugboard serve` on the shipped plugins/config.yaml, untouched, started in
 * a fresh folder (no ./models yet) with Ollama not running (a closed port). Nothing fails to
 * start; the health and the errors say how to get a model; GGUF files copied into ./models
 * are then listed next to Ollama's (none here) and answer chats, through real llama.cpp.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSilentLogger, isPlugboardError } from '../../src/index.ts';
import { type RunningPlugboard, serve } from '../../src/server/serve.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { STARTER_MODEL } from './errors.ts';

const SHIPPED = fileURLToPath(new URL('../config.yaml', import.meta.url));
const originalCwd = process.cwd();
let folder: string;
let ollama: string;
let running: RunningPlugboard;

before(async () => {
  folder = await realpath(await mkdtemp(join(tmpdir(), 'plugboard-first-run-')));
  ollama = `http://127.0.0.1:${await closedPort()}`;
  // `models_dir: models` (and the SQLite file) are relative to where Plugboard starts: in the
  // fresh folder. Only while it starts: node-llama-cpp checks its binary in a child process
  // started with this process's flags (`--import tsx`, found from the working directory).
  process.chdir(folder);
  try {
    running = await serve({
      configFile: SHIPPED,
      env: { OLLAMA_HOST: ollama },
      host: '127.0.0.1',
      port: 0,
      handleSignals: false,
      logger: createSilentLogger(),
    });
  } finally {
    process.chdir(originalCwd);
  }
});
after(async () => {
  await running?.stop();
  await rm(folder, { recursive: true, force: true });
});

const get = (path: string) => fetch(`${running.url}${path}`);
const chat = (model: string) =>
  fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 4, temperature: 0, messages: [{ role: 'user', content: 'Hello' }] }),
  });

interface HealthBody {
  readonly plugins: Record<string, { state: string; health: { status: string; message?: string } }>;
}

describe('the shipped configuration, first run: no ./models, Ollama not running', () => {
  test('both backends start; the llamacpp health says there is no model and how to get one', async () => {
    const health = (await (await get('/health')).json()) as HealthBody;
    assert.equal(health.plugins.llamacpp?.state, 'ACTIVE');
    assert.equal(health.plugins.ollama?.state, 'ACTIVE');
    assert.equal(health.plugins.llamacpp?.health.status, 'unhealthy');
    assert.equal(
      health.plugins.llamacpp?.health.message,
      `no GGUF model file in ${join(folder, 'models')} (the folder does not exist yet) — download one with \`plugboard models pull ${STARTER_MODEL}\` or the web UI's download button, or copy a .gguf file into it`,
    );
    assert.match(health.plugins.ollama?.health.message ?? '', /ollama serve/);
  });

  test("a model of llamacpp's: 404 saying how to get a model", async () => {
    const response = await chat('llamacpp/qwen');
    assert.equal(response.status, 404);
    const { error } = (await response.json()) as { error: { message: string; code: string } };
    assert.equal(error.code, 'model_not_found');
    assert.match(
      error.message,
      /^llamacpp: model "qwen" not found: no GGUF model file in .*plugboard models pull hf:Qwen/,
    );
  });

  test('a bare name no backend lists: 503 naming Ollama as not asked, and that nothing is available', async () => {
    const response = await chat('qwen');
    assert.equal(response.status, 503);
    const { error } = (await response.json()) as { error: { message: string } };
    assert.match(
      error.message,
      /^Model "qwen" was not found, and some backends could not be asked: ollama \(.*ollama serve.*\)\. Available: none$/,
    );
  });

  test('no model named: the default backend (Ollama) asks for one', async () => {
    await assert.rejects(running.runtime.manager.chat(chatRequest('Hello')), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'REQUEST_INVALID'), String(error));
      assert.match(error.message, /^ollama: the request names no model .* name a model/);
      return true;
    });
  });
});

describe('the shipped configuration, GGUF files copied into ./models while it runs', () => {
  before(async () => {
    const tiny = await tinyGgufFile();
    await mkdir(join(folder, 'models'));
    await copyFile(tiny, join(folder, 'models', 'tiny-a.gguf'));
    await copyFile(tiny, join(folder, 'models', 'tiny-b.gguf'));
  });

  test('a bare model name reaches llamacpp, though the default backend is Ollama and Ollama is down', async () => {
    const response = await chat('tiny-a');
    const body = (await response.json()) as { model: string; usage: { completion_tokens: number } };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.usage.completion_tokens, 4);
    assert.match(body.model, /tiny-a$/);
    const prefixed = await chat('llamacpp/tiny-b');
    assert.equal(prefixed.status, 200, await prefixed.clone().text());
  });

  test("GET /v1/models and /api/tags list the folder's models, each with its backend", async () => {
    const models = await get('/v1/models');
    assert.equal(models.status, 200);
    const { data } = (await models.json()) as { data: { id: string; owned_by: string }[] };
    assert.deepEqual(
      data.map((model) => [model.id, model.owned_by]),
      [
        ['llamacpp/tiny-a', 'llamacpp'],
        ['llamacpp/tiny-b', 'llamacpp'],
      ],
    );
    const tags = (await (await get('/api/tags')).json()) as { models: { name: string }[] };
    assert.deepEqual(
      tags.models.map((model) => model.name),
      ['llamacpp/tiny-a', 'llamacpp/tiny-b'],
    );
  });

  test('the llamacpp health names the models and what is loaded', async () => {
    const health = (await (await get('/health')).json()) as HealthBody;
    assert.equal(health.plugins.llamacpp?.health.status, 'healthy');
    assert.equal(
      health.plugins.llamacpp?.health.message,
      `2 models in ${join(folder, 'models')}: loaded: tiny-b; at most 1 loaded at once`,
    );
  });
});
