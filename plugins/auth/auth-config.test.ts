// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax
/**
 * The plugin loaded by name from a YAML configuration (`middleware: { auth: { config } }`, no
 * plugin_file), as an operator runs it: its keys from a keys file and from the environment, the
 * fail-closed policy from its metadata, `${VAR}` text accepted for its booleans. A plaintext key
 * in the YAML, or a keys file that is missing, keeps the plugin out with a message that says why.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { isPlugboardError, type PluginManager } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { createKey } from './key-file.ts';
import { generateKey } from './key-hash.ts';
import { bearer } from './testing/fixtures.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const ECHO = `import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat: (context) => ({
    message: createMessage({ role: 'assistant', content: (context.principal?.id ?? 'nobody') + ': ' + (lastUserMessage(context)?.content ?? '') }),
    finishReason: 'stop',
  }),
  listModels: () => [{ id: 'echo' }],
});
`;

let fixture: RuntimeFixture;
const ENV_KEY = 'PLUGBOARD_AUTH_TEST_OPS_KEY';

beforeEach(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-auth-config-'));
  await fixture.write('echo.plugin.ts', ECHO);
});
afterEach(async () => {
  delete process.env[ENV_KEY];
  await fixture.dispose();
});

async function start(auth: Record<string, unknown>, env: Record<string, string> = {}): Promise<PluginManager> {
  await fixture.write(
    'config.yaml',
    stringify({
      mode: 'staging',
      plugin_manager: { enable_hot_reload: false },
      backends: { echo: { plugin_file: 'echo.plugin.ts' } },
      middleware: { auth },
    }),
  );
  return (await fixture.start({ env })).manager;
}

test('middleware: { auth: … } loads the built-in plugin by name, fail-closed, with its keys', async () => {
  const keysFile = `${fixture.dir}/keys.yaml`;
  const fromFile = await createKey(keysFile, { id: 'from-file', scopes: ['chat'] });
  const fromEnv = generateKey();
  process.env[ENV_KEY] = fromEnv;
  const manager = await start(
    {
      config: {
        keys_file: keysFile,
        keys: [{ id: 'from-env', key_env: ENV_KEY, scopes: ['chat', 'models'] }],
        anonymous: '${AUTH_ANONYMOUS:false}',
      },
    },
    {},
  );
  const status = manager.getPluginStatus().plugins.auth;
  assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
  assert.equal(status?.failurePolicy, 'closed');
  assert.equal(status?.priority, 'CRITICAL');

  const asFile = await manager.chat(chatRequest('hi', { client: { headers: bearer(fromFile.key) } }));
  assert.equal(asFile.message.content, 'from-file: hi');
  const asEnv = await manager.chat(chatRequest('hi', { client: { headers: { 'x-api-key': fromEnv } } }));
  assert.equal(asEnv.message.content, 'from-env: hi');
  await assert.rejects(manager.chat(chatRequest('hi')), (error) => isPlugboardError(error, 'auth/UNAUTHENTICATED'));
});

test('a plaintext key in the YAML keeps the plugin out, and the message does not repeat it', async () => {
  const manager = await start({ config: { keys: [{ id: 'a', key: 'pb_plaintext_secret', scopes: ['chat'] }] } });
  const status = manager.getPluginStatus().plugins.auth;
  assert.equal(status?.state, 'ERROR');
  assert.equal(status?.lastError?.code, 'PLUGIN_CONFIG_INVALID');
  assert.match(status?.lastError?.message ?? '', /plaintext key is not accepted in config: use key_env/);
  assert.doesNotMatch(JSON.stringify(status), /pb_plaintext_secret/);
});

test('a missing keys file keeps the plugin out with the file named, and /health unhealthy', async () => {
  const manager = await start({ config: { keys_file: `${fixture.dir}/missing.yaml` } });
  const status = manager.getPluginStatus().plugins.auth;
  assert.equal(status?.state, 'ERROR');
  assert.match(status?.lastError?.message ?? '', /missing\.yaml: cannot read the keys file \(no such file\)/);
  const health = await manager.getHealth();
  assert.equal(health.status, 'unhealthy');
  assert.match(health.reasons.join('\n'), /auth: .*missing\.yaml.*\(fail-closed\)/);
});

test('a fail-closed auth plugin that failed to start refuses every request', async () => {
  const manager = await start({ config: { keys_file: `${fixture.dir}/missing.yaml` } });
  assert.deepEqual(manager.failedClosedPlugins, ['auth']);
  await assert.rejects(manager.chat(chatRequest('hi')), (error) => isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'));
});
