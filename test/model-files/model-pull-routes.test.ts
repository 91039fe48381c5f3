/**
 * The admin API's model downloads end to end, on a server started from a configuration file as
 * `plugboard serve` starts it (admin token, `server.models_dir`), pulling from a local HTTP
 * server in the Hugging Face Hub's URL layout (FakeHub; HF_ENDPOINT points at it: no internet
 * here). Pulls run in the server: the client starts one (202), polls it, cancels it; the
 * server's stop aborts what still runs, keeping part files.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { serverSchema } from '../../src/config/schema.ts';
import type { ModelPullState } from '../../src/model-files/model-pulls.ts';
import type { ModelPullsResponse } from '../../src/server/admin/model-pull-routes.ts';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { serverSettingsFrom } from '../../src/server/settings.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufBytes } from '../support/tiny-gguf.ts';
import { FakeHub } from './fake-hub.ts';

const TOKEN = 'model-pull-admin-token-0123';
const MODEL = tinyGgufBytes();
const MODEL_SHA = createHash('sha256').update(MODEL).digest('hex');
const HALF = Math.floor(MODEL.length / 2);

let hub: FakeHub;
before(async () => {
  hub = await FakeHub.start();
  hub.serve('owner/repo/resolve/main/default.gguf', { bytes: MODEL });
  hub.serve('owner/repo/resolve/main/slow.gguf', { bytes: MODEL, stallAt: HALF });
});
after(() => hub.close());

class Fixture extends RuntimeFixture {
  running: RunningPlugboard | undefined;

  get modelsDir(): string {
    return join(this.dir, 'models');
  }

  static async start(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-model-pulls-'));
    await fixture.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await fixture.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false },
        server: { admin_token: TOKEN, models_dir: fixture.modelsDir },
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
      }),
    );
    fixture.running = await fixture.serve({
      env: { HF_ENDPOINT: hub.url, PLUGBOARD_DEFAULT_MODEL: 'hf:owner/repo/default.gguf' },
    });
    return fixture;
  }

  /** An admin call; `token: null` sends none. */
  async call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.running!.url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Polls a pull until it has stopped running. */
  async settled(id: string): Promise<ModelPullState> {
    for (let poll = 0; poll < 1000; poll++) {
      const { status, body } = await this.call<ModelPullState>('GET', `/admin/models/pulls/${id}`);
      assert.equal(status, 200);
      if (body.state !== 'running') return body;
      await sleep(10);
    }
    assert.fail(`pull ${id} still runs`);
  }

  /** Polls a pull until bytes have reached its part file (the Hub's stall alone says they were sent). */
  async receiving(id: string): Promise<void> {
    for (let poll = 0; poll < 1000; poll++) {
      const { body } = await this.call<ModelPullState>('GET', `/admin/models/pulls/${id}`);
      if (body.received > 0) return;
      await sleep(10);
    }
    assert.fail(`pull ${id} received nothing`);
  }

  override async dispose(): Promise<void> {
    await this.running?.stop();
    await super.dispose();
  }
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  fixture = await Fixture.start();
  return fixture;
}
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

interface ErrorBody {
  error: { code: string; message: string };
}

describe('admin API: model pulls', () => {
  test('without the admin token every model route is refused (401) and nothing is downloaded', async () => {
    const f = await setUp();
    const before = hub.requests.length;
    for (const [method, path] of [
      ['POST', '/admin/models/pull'],
      ['GET', '/admin/models/pulls'],
      ['GET', '/admin/models/pulls/x'],
      ['DELETE', '/admin/models/pulls/x'],
    ] as const) {
      const { status, body } = await f.call<ErrorBody>(method, path, method === 'POST' ? {} : undefined, null);
      assert.equal(status, 401, `${method} ${path}`);
      assert.equal(body.error.code, 'UNAUTHORIZED');
    }
    const wrong = await f.call<ErrorBody>('POST', '/admin/models/pull', {}, 'not-the-admin-token-0000');
    assert.equal(wrong.status, 401);
    assert.equal(hub.requests.length, before, 'the Hub was not asked for anything');
  });

  test('POST /admin/models/pull downloads the default model in the background; polling shows it done', async () => {
    const f = await setUp();
    const started = await f.call<ModelPullState>('POST', '/admin/models/pull', {});
    assert.equal(started.status, 202);
    assert.equal(started.body.source, 'hf:owner/repo/default.gguf');
    assert.equal(started.body.file, 'default.gguf');
    assert.equal(started.body.state, 'running');
    assert.equal(typeof started.body.id, 'string');

    const done = await f.settled(started.body.id);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    assert.equal(done.outcome, 'downloaded');
    assert.equal(done.received, MODEL.length);
    assert.equal(done.total, MODEL.length);
    assert.equal(done.sha256, MODEL_SHA);
    const saved = await readFile(join(f.modelsDir, 'default.gguf'));
    assert.equal(createHash('sha256').update(saved).digest('hex'), MODEL_SHA);

    const listed = await f.call<ModelPullsResponse>('GET', '/admin/models/pulls');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.modelsDir, f.modelsDir);
    assert.equal(listed.body.defaultSource, 'hf:owner/repo/default.gguf');
    assert.deepEqual(
      listed.body.pulls.map((pull) => [pull.id, pull.state]),
      [[started.body.id, 'done']],
    );

    // A bare POST (no body) asks for the default too; the file is there, so nothing is downloaded.
    const again = await f.call<ModelPullState>('POST', '/admin/models/pull');
    assert.equal(again.status, 202);
    const skipped = await f.settled(again.body.id);
    assert.equal(skipped.state, 'done');
    assert.equal(skipped.outcome, 'already-present');
  });

  test('a bad body or source is a 400 that says what to send; an unknown pull is a 404', async () => {
    const f = await setUp();
    const unsafe = await f.call<ErrorBody>('POST', '/admin/models/pull', { source: 'hf:owner/repo/../x.gguf' });
    assert.equal(unsafe.status, 400);
    assert.equal(unsafe.body.error.code, 'MODEL_SOURCE_INVALID');
    const notGguf = await f.call<ErrorBody>('POST', '/admin/models/pull', { source: 'https://example.com/x.bin' });
    assert.equal(notGguf.status, 400);
    assert.match(notGguf.body.error.message, /does not end in \.gguf/);
    const unknownField = await f.call<ErrorBody>('POST', '/admin/models/pull', { source: 'hf:o/r/x.gguf', dir: '/' });
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.body.error.code, 'REQUEST_INVALID');
    const wrongType = await f.call<ErrorBody>('POST', '/admin/models/pull', { source: 42 });
    assert.equal(wrongType.status, 400);
    const missing = await f.call<ErrorBody>('GET', '/admin/models/pulls/no-such-pull');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'MODEL_PULL_NOT_FOUND');
    assert.deepEqual((await f.call<ModelPullsResponse>('GET', '/admin/models/pulls')).body.pulls, []);
  });

  test('a pull that fails is listed as failed with its coded error', async () => {
    const f = await setUp();
    const started = await f.call<ModelPullState>('POST', '/admin/models/pull', { source: 'hf:owner/repo/absent.gguf' });
    assert.equal(started.status, 202);
    const failed = await f.settled(started.body.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error?.code, 'MODEL_DOWNLOAD_FAILED');
    assert.match(failed.error?.message ?? '', /answered 404/);
  });

  test('DELETE /admin/models/pulls/:id cancels a running pull and keeps its part file', async () => {
    const f = await setUp();
    const stalled = hub.stalled.promise;
    const started = await f.call<ModelPullState>('POST', '/admin/models/pull', { source: 'hf:owner/repo/slow.gguf' });
    await stalled;
    await f.receiving(started.body.id);
    const same = await f.call<ModelPullState>('POST', '/admin/models/pull', { source: 'hf:owner/repo/slow.gguf' });
    assert.equal(same.body.id, started.body.id, 'the same source while it runs answers the running pull');

    const cancelled = await f.call<ModelPullState>('DELETE', `/admin/models/pulls/${started.body.id}`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.state, 'cancelled');
    assert.equal(cancelled.body.error?.code, 'MODEL_PULL_CANCELLED');
    assert.deepEqual(
      (await readdir(f.modelsDir)).sort(),
      ['slow.gguf.part', 'slow.gguf.part.json'],
      'the part and its origin record stay for a resume; no lock is left',
    );
  });

  test('stopping the server aborts a running pull and keeps its part file', async () => {
    const f = await setUp();
    const stalled = hub.stalled.promise;
    const started = await f.call<ModelPullState>('POST', '/admin/models/pull', { source: 'hf:owner/repo/slow.gguf' });
    assert.equal(started.status, 202);
    await stalled;
    await f.receiving(started.body.id);
    assert.equal(await f.running!.stop(), 0, 'the server stops cleanly while a pull runs');
    fixture = undefined;
    assert.deepEqual((await readdir(f.modelsDir)).sort(), ['slow.gguf.part', 'slow.gguf.part.json']);
    const kept = (await stat(join(f.modelsDir, 'slow.gguf.part'))).size;
    assert.ok(kept > 0 && kept <= HALF, `what arrived is kept (${kept} bytes)`);
    await f.dispose();
  });

  test('settings: models_dir defaults to models; a PLUGBOARD_DEFAULT_MODEL that is no source stops the start', () => {
    const section = serverSchema.parse({});
    assert.equal(serverSettingsFrom(section, {}).modelsDir, 'models');
    const settings = serverSettingsFrom(section, { PLUGBOARD_DEFAULT_MODEL: 'hf:o/r/m.gguf', HF_ENDPOINT: hub.url });
    assert.equal(settings.defaultModelSource, 'hf:o/r/m.gguf');
    assert.equal(settings.huggingFaceEndpoint, hub.url);
    assert.throws(
      () => serverSettingsFrom(section, { PLUGBOARD_DEFAULT_MODEL: 'models/m.gguf' }),
      /^Error: PLUGBOARD_DEFAULT_MODEL: Cannot download "models\/m\.gguf"/,
    );
  });
});
