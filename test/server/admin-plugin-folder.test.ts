/**
 * `POST /admin/plugins/{name}/reload` applies the plugin-folder rule of the configuration
 * (`plugin_manager.plugin_directories`), as config reloads do: a plugin file replaced by a
 * symlink to a file outside those folders is refused (CONFIG_INVALID, the running version
 * stays), and so is the same change through `POST /admin/reload`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createSilentLogger } from '../../src/index.ts';
import { serve } from '../../src/server/serve.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { adminCall } from './admin-support.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const TOKEN = 'plugin-folder-admin-token-0123';

/** An input processor appending `[tagger:code]`. */
const taggerSource = (code: string) => `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: { name: 'tagger', version: '1.0.0' },
  direction: 'input',
  processMessage: (message) => withContent(message, message.content + '[tagger:${code}]'),
});
`;

describe('admin plugin reload: the plugin-folder check', () => {
  test('a plugin file replaced by a symlink out of plugin_directories is refused; the running version stays', async () => {
    const files = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-admin-folder-'));
    const outside = await mkdtemp(join(tmpdir(), 'plugboard-outside-'));
    after(async () => {
      await files.dispose();
      await rm(outside, { recursive: true, force: true });
    });
    await files.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await files.write('tagger.plugin.ts', taggerSource('v1'));
    await files.write(
      'config.yaml',
      stringify({
        mode: 'staging',
        plugin_manager: { enable_hot_reload: false, plugin_directories: ['.'] },
        server: { admin_token: TOKEN },
        backends: { echo: { plugin_file: 'echo.plugin.ts' } },
        message_processors: { tagger: { plugin_file: 'tagger.plugin.ts' } },
      }),
    );
    const running = await serve({
      configFile: files.file,
      env: {},
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      logger: createSilentLogger(),
    });
    after(() => running.stop());
    const ask = async () => (await running.runtime.manager.chat(chatRequest('hi'))).message.content;
    assert.match(await ask(), /\[tagger:v1\]/);

    // The file in the plugin folder becomes a symlink to code outside every plugin folder.
    await writeFile(join(outside, 'tagger.plugin.ts'), taggerSource('outside'));
    await unlink(join(files.dir, 'tagger.plugin.ts'));
    await symlink(join(outside, 'tagger.plugin.ts'), join(files.dir, 'tagger.plugin.ts'));

    const answer = await adminCall(running.url, TOKEN, 'POST', '/admin/plugins/tagger/reload');
    assert.notEqual(answer.status, 200, JSON.stringify(answer.body));
    const error = (answer.body as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'CONFIG_INVALID', JSON.stringify(answer.body));
    assert.match(error.message, /leaves the allowed plugin folders/);
    assert.match(await ask(), /\[tagger:v1\]/, 'the running version stays');

    // The whole-config reload refuses the same change the same way.
    const reload = await adminCall(running.url, TOKEN, 'POST', '/admin/reload');
    const refused = (reload.body as { refused?: { plugin: string; code: string; message: string }[] }).refused ?? [];
    const tagger = refused.find((refusal) => refusal.plugin === 'tagger');
    assert.equal(tagger?.code, 'CONFIG_INVALID', JSON.stringify(reload.body));
    assert.match(tagger?.message ?? '', /leaves the allowed plugin folders/);
    assert.match(await ask(), /\[tagger:v1\]/);
  });
});
