/**
 * Loaded by name from a YAML configuration file, as operators write it: the entry
 * `features: { tools: { config: { mcp_servers: … } } }` without `plugin_file` loads this plugin,
 * which starts the stdio MCP server of the entry; a model (a scripted backend written next to the
 * config: the tiny llama.cpp model cannot produce tool calls) calls its tool and answers from it.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const STDIO_SERVER = fileURLToPath(new URL('./testing/stdio-server.ts', import.meta.url));

/** A model that asks the MCP server to echo, then answers with the echo. */
const MODEL_SOURCE = `
import { createMessage, defineBackend } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'tool_model', version: '1.0.0' },
  chat: (context) => {
    const last = context.messages.at(-1);
    if (last.role === 'tool') return { message: createMessage({ role: 'assistant', content: 'echoed: ' + last.content }) };
    return { message: createMessage({ role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'calc__echo', arguments: '{"text":"from yaml"}' }] }) };
  },
  listModels: () => [{ id: 'tool_model' }],
});
`;

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

test('`tools` under features loads the first-party plugin by name and runs its MCP server', async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-tools-yaml-'));
  await fixture.write('tool-model.plugin.ts', MODEL_SOURCE);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  tool_model:',
      '    plugin_file: tool-model.plugin.ts',
      'features:',
      '  tools:',
      '    config:',
      '      mcp_servers:',
      '        calc:',
      `          command: ${JSON.stringify(process.execPath)}`,
      `          args: ["--import", "tsx", ${JSON.stringify(STDIO_SERVER)}]`,
    ].join('\n'),
  );
  const runtime = await fixture.start();
  const status = runtime.manager.getPluginStatus().plugins.tools;
  assert.equal(status?.state, 'ACTIVE');
  assert.deepEqual(status?.kinds, ['feature-extension']);
  const response = await runtime.manager.chat(chatRequest('echo please', { model: 'tool_model' }));
  assert.equal(response.message.content, 'echoed: from yaml');
});
