/**
 * Loaded by name from a YAML configuration file, as operators write it: the entry
 * `message_processors: { content_filter: { config: … } }` without `plugin_file` loads this
 * plugin, its config is validated (a misspelt key is reported with its path), and it filters.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chatRequest, collectStream } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** A backend that answers with a fixed reply holding an e-mail address and a card number. */
const ECHO_SOURCE = `
import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
const REPLY = 'Write to alice@example.com, card 4111 1111 1111 1111.';
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat(context) {
    globalThis.__contentFilterSeen = lastUserMessage(context)?.content;
    if (!context.stream) return { message: createMessage({ role: 'assistant', content: REPLY }), finishReason: 'stop' };
    return (async function* () {
      for (let at = 0; at < REPLY.length; at += 5) yield { content: REPLY.slice(at, at + 5) };
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'echo' }],
});
`;

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

async function start(processors: string) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-content-filter-'));
  await fixture.write('echo.plugin.ts', ECHO_SOURCE);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  echo:',
      '    plugin_file: echo.plugin.ts',
      'message_processors:',
      processors,
    ].join('\n'),
  );
  return fixture.start();
}

test('`content_filter` in message_processors loads the first-party plugin by name, with its config', async () => {
  const runtime = await start(
    ['  content_filter:', '    config:', '      categories:', '        email: { action: mask }'].join('\n'),
  );
  const status = runtime.manager.getPluginStatus().plugins.content_filter;
  assert.equal(status?.state, 'ACTIVE');
  const response = await runtime.manager.chat(chatRequest('my SSN is 123-45-6789'));
  assert.equal((globalThis as Record<string, unknown>).__contentFilterSeen, 'my SSN is [ssn]');
  assert.equal(response.message.content, 'Write to *************.com, card [card].');
  const streamed = await collectStream(runtime.manager.stream(chatRequest('hi', { stream: true })));
  assert.equal(streamed.text, response.message.content);
});

test('a misspelt key in its config keeps it out and names the key', async () => {
  const runtime = await start(['  content_filter:', '    config:', '      default_regoin: DE'].join('\n'));
  const status = runtime.manager.getPluginStatus().plugins.content_filter;
  assert.notEqual(status?.state, 'ACTIVE');
  const problems = JSON.stringify(runtime.manager.getPluginStatus());
  assert.match(problems, /default_regoin/);
});
