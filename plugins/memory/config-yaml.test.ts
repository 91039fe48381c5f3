/**
 * Loaded by name from a YAML configuration file, as operators write it: `features: { memory:
 * { config: … } }` without `plugin_file` loads this plugin, numbers from `${VAR}` references
 * included, and a conversation continues across requests. A misspelt key keeps it out, is
 * named, and — memory being fail-closed — chats are refused until the file is fixed.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** A backend that says how many messages it was sent. */
const COUNTING_SOURCE = `
import { createMessage, defineBackend } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'counting', version: '1.0.0' },
  chat: (context) => ({ message: createMessage({ role: 'assistant', content: 'saw ' + context.messages.length }) }),
  listModels: () => [{ id: 'counting' }],
});
`;

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

async function start(lines: readonly string[], env: Record<string, string> = {}) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-memory-yaml-'));
  await fixture.write('counting.plugin.ts', COUNTING_SOURCE);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  counting:',
      '    plugin_file: counting.plugin.ts',
      'features:',
      '  memory:',
      ...lines,
    ].join('\n'),
  );
  return fixture.start({ env });
}

test('`memory` under features loads the first-party plugin by name, with its config', async () => {
  const runtime = await start(
    [
      '    config:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      max_context_tokens: "${MEMORY_TOKENS:2000}"',
      '      auto_title: false',
      '      tokenizer: chars',
    ],
    { MEMORY_TOKENS: '800' },
  );
  const status = runtime.manager.getPluginStatus().plugins.memory;
  assert.equal(status?.state, 'ACTIVE');
  assert.equal(status?.failurePolicy, 'closed');
  assert.deepEqual(status?.kinds, ['feature-extension']);
  const headers = new Map<string, string>();
  const responseHeaders = (name: string, value: string) => {
    headers.set(name, value);
    return true;
  };
  const first = await runtime.manager.chat(chatRequest('hi', { model: 'counting', conversationId: 'new' }), {
    responseHeaders,
  });
  assert.equal(first.message.content, 'saw 1');
  const id = headers.get('x-conversation-id');
  assert.ok(id, 'a conversation was created');
  const second = await runtime.manager.chat(chatRequest('again', { model: 'counting', conversationId: id }));
  assert.equal(second.message.content, 'saw 3', 'the history came along');
});

test('a misspelt key keeps memory out and names the key; fail-closed for conversations, it refuses those and serves stateless chats', async () => {
  const runtime = await start(['    config:', '      summarise: true']);
  const status = runtime.manager.getPluginStatus().plugins.memory;
  assert.notEqual(status?.state, 'ACTIVE');
  assert.match(JSON.stringify(status), /summarise/);
  const error = await runtime.manager
    .chat(chatRequest('hi', { model: 'counting', conversationId: 'new' }))
    .catch((thrown: unknown) => thrown);
  assert.ok(isPlugboardError(error, 'PLUGIN_FAILED_CLOSED'), String(error));
  const stateless = await runtime.manager.chat(chatRequest('hi', { model: 'counting' }));
  assert.equal(stateless.message.content, 'saw 1');
});
