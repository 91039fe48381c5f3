/**
 * A Plugboard for the web UI's browser tests: `serve()` on 127.0.0.1 with the built UI, an
 * admin token, and two backends — llama.cpp on the tiny random model (`tiny`: real inference,
 * gibberish text) and the example echo backend (`echo`: answers "You said: <the message>",
 * word by word, so a test knows what the reply holds). Extra YAML sections (features,
 * middleware, message_processors …) come from the caller.
 *
 * @example
 * ```ts
 * const server = await startUiServer({ sections: 'features:\n  memory: {}\n' });
 * await page.goto(`${server.url}/#token=${server.adminToken}`);
 * await server.close();
 * ```
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { RuntimeFixture } from './runtime-fixture.ts';
import { tinyGgufFile } from './tiny-gguf.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const UI_ADMIN_TOKEN = 'ui-test-admin-token-0123456789';

export interface UiServer {
  readonly url: string;
  readonly adminToken: string;
  readonly running: RunningPlugboard;
  readonly fixture: RuntimeFixture;
  close(): Promise<void>;
}

export interface UiServerOptions {
  /** YAML appended after `backends:` (top-level sections such as `features:` or `middleware:`). */
  readonly sections?: string;
  /** `plugin_manager.default_backend` (default `echo`). */
  readonly defaultBackend?: string;
  /** Environment for `${VAR}` references. */
  readonly env?: Record<string, string>;
  /** More folders plugin files may come from (e.g. a test's own backend). */
  readonly pluginDirectories?: readonly string[];
}

/** Builds the UI when its build is missing or stale (once per process), then serves. */
export async function startUiServer(options: UiServerOptions = {}): Promise<UiServer> {
  await ensureUiBuilt();
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-ui-'));
  const modelPath = await tinyGgufFile();
  await fixture.write(
    'config.yaml',
    `mode: production
plugin_manager:
  default_backend: ${options.defaultBackend ?? 'echo'}
  plugin_directories: ${JSON.stringify(['.', join(ROOT, 'examples/plugins'), ...(options.pluginDirectories ?? [])])}
server:
  admin_token: ${UI_ADMIN_TOKEN}
backends:
  llamacpp:
    timeout: 60
    config:
      model_path: ${JSON.stringify(modelPath)}
      model_id: tiny
      threads: 1
      temperature: 0
  echo:
    plugin_file: ${JSON.stringify(join(ROOT, 'examples/plugins/echo-backend.plugin.ts'))}
${options.sections ?? ''}`,
  );
  const running = await fixture.serve(options.env === undefined ? {} : { env: options.env });
  return {
    url: running.url,
    adminToken: UI_ADMIN_TOKEN,
    running,
    fixture,
    async close() {
      await running.stop();
      await fixture.dispose();
    },
  };
}

let built: Promise<void> | undefined;

/** Builds the UI when its build is missing or stale, once per process (for tests that serve it themselves). */
export function ensureUiBuilt(): Promise<void> {
  built ??= (async () => {
    const state = (await import(join(ROOT, 'scripts/ui-build-state.mjs'))) as { uiBuildNeeded(): string | undefined };
    if (state.uiBuildNeeded() === undefined) return;
    // Test files run in parallel processes: one builds, the others wait for it and find the
    // build current (two Vite builds into one dist/ui would leave it half-written).
    await withBuildLock(async () => {
      if (state.uiBuildNeeded() === undefined) return;
      const { buildUi } = (await import(join(ROOT, 'scripts/build-ui.mjs'))) as {
        buildUi(options: { quiet: boolean }): Promise<unknown>;
      };
      await buildUi({ quiet: true });
    });
  })();
  return built;
}

const BUILD_LOCK = join(ROOT, '.cache', 'ui-build.lock');

async function withBuildLock(action: () => Promise<void>): Promise<void> {
  await mkdir(join(ROOT, '.cache'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(BUILD_LOCK); // atomic: exactly one process creates it
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than a build can take was left by a process that died: take it over.
      const age = Date.now() - (await stat(BUILD_LOCK).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 60_000 || Date.now() > deadline) await rm(BUILD_LOCK, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    await action();
  } finally {
    await rm(BUILD_LOCK, { recursive: true, force: true });
  }
}
