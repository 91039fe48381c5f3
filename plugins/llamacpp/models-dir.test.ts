/**
 * The llamacpp backend serving a folder of GGUF files (`models_dir`) with real llama.cpp: the
 * tiny test model copied under several names. Files come and go while it runs; at most
 * `max_loaded_models` stay loaded; an empty or missing folder says how to get a model.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PluginManager } from '../../src/index.ts';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest, collectStream, startManager } from '../../src/testing/index.ts';
import { tinyGgufFile } from '../../test/support/tiny-gguf.ts';
import { type LlamaCppConfigInput, llamaCppConfigSchema } from './config.ts';
import { STARTER_MODEL } from './errors.ts';
import { LlamaCppBackend } from './llamacpp.plugin.ts';
import { ModelFolder, modelIdOf } from './model-folder.ts';

let tiny: string;
let root: string;
const started: PluginManager[] = [];

before(async () => {
  tiny = await tinyGgufFile();
  root = await mkdtemp(join(tmpdir(), 'plugboard-models-dir-'));
});
after(async () => {
  await Promise.all(started.map((manager) => manager.shutdown()));
  await rm(root, { recursive: true, force: true });
});

/** A fresh folder under the test's root holding the tiny model as each of `names` (`.gguf` added). */
async function folderWith(name: string, models: readonly string[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const model of models) await copyFile(tiny, join(dir, `${model}.gguf`));
  return dir;
}

/** A manager over a llamacpp backend on `models_dir` (the folder re-read on every look unless said). */
async function serve(config: Partial<LlamaCppConfigInput>, options: { folderMaxAgeMs?: number } = {}) {
  const backend = new LlamaCppBackend({ folderMaxAgeMs: options.folderMaxAgeMs ?? 0 });
  const manager = await startManager([[backend, { config: { threads: 1, ...config } }]]);
  started.push(manager);
  const listed = async () => {
    const result = await manager.getBackendProvider('llamacpp')!.listModels();
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    return result.value;
  };
  return { backend, manager, listed, ids: async () => (await listed()).map((model) => model.id) };
}

const ask = (manager: PluginManager, model: string | undefined, maxTokens = 4) =>
  manager.chat(
    chatRequest('Hello', { ...(model === undefined ? {} : { model }), options: { temperature: 0, maxTokens } }),
  );

/** The ids of the loaded models, from the health check. */
async function loadedIds(backend: LlamaCppBackend): Promise<string[]> {
  const loaded = (await backend.healthCheck()).details?.loaded as { id: string; state: string }[];
  return loaded.filter((model) => model.state === 'ready').map((model) => model.id);
}

describe('llamacpp models_dir: the folder is the list', () => {
  test('every .gguf file directly in the folder is a model named after its file; partial and hidden files are not', async () => {
    const dir = await folderWith('listing', ['alpha', 'beta', 'gamma']);
    await writeFile(join(dir, 'gamma.gguf.part'), 'a download under way, in place'); // gamma is incomplete
    await writeFile(join(dir, 'delta.gguf.part'), 'a download under way');
    await writeFile(join(dir, 'epsilon.gguf.ipull'), 'another downloader');
    await copyFile(tiny, join(dir, '.hidden.gguf'));
    await writeFile(join(dir, 'notes.txt'), 'not a model');
    await mkdir(join(dir, 'nested.gguf'));
    await mkdir(join(dir, 'sub'));
    await copyFile(tiny, join(dir, 'sub', 'deeper.gguf'));
    const { backend, listed } = await serve({ models_dir: dir });
    const models = await listed();
    assert.deepEqual(
      models.map((model) => model.id),
      ['alpha', 'beta'],
    );
    for (const model of models) {
      assert.equal(model.details?.format, 'gguf');
      assert.equal(model.details?.context_length, 256, 'facts from the header, per model');
      assert.equal(model.details?.path, join(dir, `${model.id}.gguf`));
      assert.equal(model.details?.loaded, false);
    }
    assert.equal(backend.loaded, false, 'listing loads nothing');
    const health = await backend.healthCheck();
    assert.equal(health.status, 'healthy', health.message);
    assert.equal(
      health.message,
      `2 models in ${dir}: none loaded yet, each loads on its first request; at most 1 loaded at once`,
    );
    const skipped = ((health.details?.skipped ?? []) as { file: string; reason: string }[]).map((file) => file.file);
    assert.deepEqual(skipped.sort(), ['.hidden.gguf', 'gamma.gguf', 'nested.gguf']);
  });

  test('a file added while running is listed and served; a removed one disappears', async () => {
    const dir = await folderWith('coming-and-going', ['alpha']);
    const { manager, ids } = await serve({ models_dir: dir });
    assert.deepEqual(await ids(), ['alpha']);
    await copyFile(tiny, join(dir, 'fresh.gguf'));
    assert.deepEqual(await ids(), ['alpha', 'fresh']);
    const reply = await ask(manager, 'fresh');
    assert.equal(reply.model, 'fresh');
    assert.equal(reply.usage?.completionTokens, 4);
    await rm(join(dir, 'fresh.gguf'));
    assert.deepEqual(await ids(), ['alpha']);
    await assert.rejects(ask(manager, 'llamacpp/fresh'), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'), String(error));
      assert.equal(
        error.message,
        `llamacpp: no model "fresh" in ${dir} (available: alpha) — pick one of those, or add fresh.gguf to the folder`,
      );
      return true;
    });
  });

  test('a request naming a file that just arrived finds it, even within the folder cache', async () => {
    const dir = await folderWith('just-arrived', ['alpha']);
    const { manager, ids } = await serve({ models_dir: dir }, { folderMaxAgeMs: 60_000 });
    assert.deepEqual(await ids(), ['alpha']);
    await copyFile(tiny, join(dir, 'late.gguf'));
    // The bare name: the router asks the backends again, and the backend reads its folder again.
    assert.equal((await ask(manager, 'late')).model, 'late');
    assert.equal((await ask(manager, 'llamacpp/late:latest')).model, 'late');
  });

  test('file names become valid ids: whitespace turns into "-", a clash leaves the second out', async () => {
    const dir = await folderWith('names', ['my model', 'my-model', 'Qwen 2.5 Q4']);
    const { backend, ids } = await serve({ models_dir: dir });
    assert.deepEqual(await ids(), ['Qwen-2.5-Q4', 'my-model']);
    const skipped = (await backend.healthCheck()).details?.skipped as { file: string; reason: string }[];
    assert.deepEqual(skipped, [
      {
        file: 'my-model.gguf',
        reason: 'its model id "my-model" is already the model of my model.gguf: rename one of them',
      },
    ]);
  });
});

describe('ModelFolder: reading the folder (no header read)', () => {
  test('a split model is one model, named without its part numbers, read from its first part', async () => {
    const dir = await folderWith('split', ['big-00001-of-00002', 'big-00002-of-00002', 'small']);
    const scan = await new ModelFolder(dir).scan();
    assert.equal(scan.state, 'ok');
    assert.deepEqual(
      scan.models.map((model) => [model.id, model.path]),
      [
        ['big', join(dir, 'big-00001-of-00002.gguf')],
        ['small', join(dir, 'small.gguf')],
      ],
    );
  });

  test('ids from file names', () => {
    assert.equal(modelIdOf('qwen2.5-0.5b-instruct-q4_k_m.gguf'), 'qwen2.5-0.5b-instruct-q4_k_m');
    assert.equal(modelIdOf('Model.GGUF'), 'Model');
    assert.equal(modelIdOf(' tabs\tand  spaces .gguf'), 'tabs-and-spaces');
    assert.equal(modelIdOf('model.gguf.part'), undefined);
    assert.equal(modelIdOf('.model.gguf'), undefined);
    assert.equal(modelIdOf('---.gguf'), undefined);
  });

  test('a reading is reused for a moment unless asked for a fresh one', async () => {
    const dir = await folderWith('cached', ['one']);
    const folder = new ModelFolder(dir, { maxAgeMs: 60_000 });
    assert.equal((await folder.scan()).models.length, 1);
    await copyFile(tiny, join(dir, 'two.gguf'));
    assert.equal((await folder.scan()).models.length, 1, 'the cached reading');
    assert.equal((await folder.scan({ fresh: true })).models.length, 2);
  });
});

describe('llamacpp models_dir: chat, and the bound on loaded models', () => {
  let dir: string;
  let backend: LlamaCppBackend;
  let manager: PluginManager;
  before(async () => {
    dir = await folderWith('bound', ['alpha', 'beta']);
    // A context larger than the tiny model's own, so that a long reply keeps its model busy a while.
    ({ backend, manager } = await serve({ models_dir: dir, max_loaded_models: 1, context_size: 2048, sequences: 1 }));
  });

  test('each model answers under its own name; no name: the model used last', async () => {
    const alpha = await ask(manager, 'alpha');
    assert.equal(alpha.model, 'alpha');
    assert.equal(alpha.backend, 'llamacpp');
    assert.equal(alpha.usage?.completionTokens, 4);
    const beta = await ask(manager, 'llamacpp/beta');
    assert.equal(beta.model, 'beta');
    assert.equal(beta.message.content, alpha.message.content, 'the same file, the same greedy reply');
    assert.equal((await ask(manager, undefined)).model, 'beta');
  });

  test('max_loaded_models 1: a request for the other model unloads the first', async () => {
    await ask(manager, 'alpha');
    assert.deepEqual(await loadedIds(backend), ['alpha']);
    await ask(manager, 'beta');
    assert.deepEqual(await loadedIds(backend), ['beta']);
    const listed = await manager.getBackendProvider('llamacpp')!.listModels();
    assert.ok(listed.ok);
    assert.deepEqual(
      listed.value.map((model) => [model.id, model.details?.loaded]),
      [
        ['alpha', false],
        ['beta', true],
      ],
    );
  });

  test('while the loaded model is busy, a request for the other waits, and leaves the line when aborted', async () => {
    await ask(manager, 'alpha');
    const long = manager.stream(
      chatRequest('Write a long essay', { model: 'alpha', stream: true, options: { temperature: 0, maxTokens: 1500 } }),
    );
    const reading = collectStream(long);
    const controller = new AbortController();
    const beta = manager.chat(chatRequest('Hello', { model: 'beta', options: { temperature: 0, maxTokens: 4 } }), {
      signal: controller.signal,
    });
    let health = await backend.healthCheck();
    for (let attempt = 0; attempt < 1000 && health.details?.waiting !== 1; attempt++) {
      await sleep(2);
      health = await backend.healthCheck();
    }
    assert.equal(health.details?.waiting, 1, 'the request for beta waits for a place');
    assert.deepEqual(
      ((health.details?.loaded ?? []) as { id: string; draining: boolean }[]).map((model) => [
        model.id,
        model.draining,
      ]),
      [['alpha', true]],
    );
    controller.abort();
    await assert.rejects(beta, (error: unknown) => isPlugboardError(error, 'REQUEST_ABORTED'));
    const essay = await reading;
    assert.equal(essay.response.usage?.completionTokens, 1500, 'the busy model finished its reply');
    assert.deepEqual(await loadedIds(backend), ['alpha'], 'beta was never loaded: alpha stayed');
    assert.equal((await backend.healthCheck()).details?.waiting, 0);
  });
});

describe('llamacpp models_dir: no model yet', () => {
  test('a missing folder is no error: nothing listed, the health and every request say how to get a model', async () => {
    const dir = join(root, 'not-yet');
    const { backend, manager, ids } = await serve({ models_dir: dir });
    assert.deepEqual(await ids(), []);
    const advice = `no GGUF model file in ${dir} (the folder does not exist yet) — download one with \`plugboard models pull ${STARTER_MODEL}\` or the web UI's download button, or copy a .gguf file into it`;
    const health = await backend.healthCheck();
    assert.equal(health.status, 'unhealthy');
    assert.equal(health.message, advice);
    await assert.rejects(ask(manager, undefined), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'BACKEND_UNAVAILABLE'), String(error));
      assert.equal(error.status, 503);
      assert.equal(error.message, `llamacpp: ${advice}`);
      return true;
    });
    await assert.rejects(ask(manager, 'llamacpp/qwen'), (error: unknown) => {
      assert.ok(isPlugboardError(error, 'MODEL_NOT_FOUND'), String(error));
      assert.equal(error.message, `llamacpp: model "qwen" not found: ${advice}`);
      return true;
    });
    // The folder appears with a download in it: served without a restart.
    await folderWith('not-yet', ['downloaded']);
    assert.deepEqual(await ids(), ['downloaded']);
    assert.equal((await ask(manager, undefined)).model, 'downloaded');
  });

  test('an empty folder says the same, without "does not exist"', async () => {
    const dir = await folderWith('empty', []);
    const { backend } = await serve({ models_dir: dir });
    const health = await backend.healthCheck();
    assert.equal(health.status, 'unhealthy');
    assert.match(
      health.message ?? '',
      new RegExp(`^no GGUF model file in ${dir.replaceAll('.', '\\.')} — download one with`),
    );
  });

  test('models_dir pointing at a file: unhealthy, saying so', async () => {
    const { backend } = await serve({ models_dir: tiny });
    const health = await backend.healthCheck();
    assert.equal(health.status, 'unhealthy');
    assert.match(
      health.message ?? '',
      /cannot be used: it is not a folder — point models_dir \(or PLUGBOARD_MODELS_DIR\) at a folder of \.gguf files/,
    );
  });
});

describe('llamacpp models_dir: configuration', () => {
  const issues = (config: Record<string, unknown>) => {
    const parsed = llamaCppConfigSchema.safeParse(config);
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  test('exactly one of models_dir and model_path; model_id only with model_path', () => {
    assert.deepEqual(issues({ models_dir: 'models' }), []);
    assert.deepEqual(issues({ model_path: 'm.gguf', model_id: 'm' }), []);
    assert.deepEqual(issues({}), [
      'models_dir: set models_dir (a folder of .gguf files) or model_path (one .gguf file)',
    ]);
    assert.deepEqual(issues({ models_dir: 'models', model_path: 'm.gguf' }), [
      'model_path: set either model_path or models_dir, not both',
    ]);
    assert.deepEqual(issues({ models_dir: 'models', model_id: 'm' }), [
      'model_id: model_id names the model_path file; with models_dir each model is named after its file',
    ]);
    assert.deepEqual(issues({ models_dir: 'models', max_loaded_models: 0 }).length, 1);
  });

  test('a relative models_dir is resolved against the working directory', async () => {
    const { backend } = await serve({ models_dir: 'models-of-the-cwd' });
    const health = await backend.healthCheck();
    assert.equal(health.details?.modelsDir, join(process.cwd(), 'models-of-the-cwd'));
  });
});
