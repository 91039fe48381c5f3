/**
 * Loaded by name from a YAML configuration file, as operators write it: the entry
 * `middleware: { cache: { config: … } }` without `plugin_file` loads this plugin, with numbers
 * from `${VAR}` references, and the second identical request is answered from the cache; a
 * misspelt key keeps it out, is named, and requests are answered by the model.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** A backend that counts its calls in its reply. */
const COUNTING_SOURCE = `
import { createMessage, defineBackend } from ${JSON.stringify(SRC)};
let calls = 0;
export default defineBackend({
  metadata: { name: 'counting', version: '1.0.0' },
  chat: () => ({ message: createMessage({ role: 'assistant', content: 'call ' + ++calls }) }),
  listModels: () => [{ id: 'counting' }],
});
`;

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

/** Starts a runtime whose `cache` entry is `lines` (indented under `cache:`). */
async function start(lines: readonly string[], env: Record<string, string> = {}) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-cache-yaml-'));
  await fixture.write('counting.plugin.ts', COUNTING_SOURCE);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  counting:',
      '    plugin_file: counting.plugin.ts',
      'middleware:',
      '  cache:',
      ...lines,
    ].join('\n'),
  );
  return fixture.start({ env });
}

const ask = () => chatRequest('hi', { model: 'counting', options: { temperature: 0 } });

test('`cache` under middleware loads the first-party plugin by name, with its config', async () => {
  const runtime = await start(
    [
      '    config:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      ttl_seconds: "${CACHE_TTL:600}"',
      '      per_principal: false',
    ],
    { CACHE_TTL: '120' },
  );
  const status = runtime.manager.getPluginStatus().plugins.cache;
  assert.equal(status?.state, 'ACTIVE');
  assert.equal(status?.failurePolicy, 'open');
  assert.deepEqual(status?.kinds, ['middleware']);
  assert.equal((await runtime.manager.chat(ask())).message.content, 'call 1');
  const again = await runtime.manager.chat(ask());
  assert.equal(again.message.content, 'call 1');
  assert.equal(again.metadata.cache, 'hit');
});

test('a misspelt key keeps it out and names the key; the model answers', async () => {
  const runtime = await start(['    config:', '      ttl: 60']);
  assert.notEqual(runtime.manager.getPluginStatus().plugins.cache?.state, 'ACTIVE');
  assert.match(JSON.stringify(runtime.manager.getPluginStatus()), /ttl/);
  assert.equal((await runtime.manager.chat(ask())).message.content, 'call 1');
  assert.equal((await runtime.manager.chat(ask())).message.content, 'call 2');
});
