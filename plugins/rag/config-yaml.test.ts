/**
 * Loaded by name from a YAML configuration file through the real config loader: the entry
 * `features: { rag: { config: … } }` without `plugin_file` loads this plugin with numbers from
 * `${VAR}` references, and its endpoints are served by the manager; a misspelt key keeps it
 * out and is named.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createChatContext } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

const TESTING = fileURLToPath(new URL('../../src/testing/index.ts', import.meta.url));

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

async function start(lines: readonly string[], env: Record<string, string> = {}) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-rag-yaml-'));
  await fixture.write(
    'scripted.plugin.ts',
    `import { createScriptedBackend } from ${JSON.stringify(TESTING)};\nexport default createScriptedBackend({ reply: 'ok' });\n`,
  );
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  scripted:',
      '    plugin_file: scripted.plugin.ts',
      'features:',
      '  rag:',
      ...lines,
    ].join('\n'),
  );
  return fixture.start({ env });
}

test('`rag` under features loads the first-party plugin by name, serves its endpoints and retrieves', async () => {
  const runtime = await start(
    [
      '    config:',
      '      collections: [handbook]',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      chunk_tokens: "${RAG_CHUNK:200}"',
      '      tokenizer: estimate',
    ],
    { RAG_CHUNK: '120' },
  );
  const { manager } = runtime;
  const status = manager.getPluginStatus().plugins.rag;
  assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
  assert.deepEqual(status?.kinds, ['feature-extension']);
  const match = manager.endpoints.match('POST', '/v1/rag/collections/handbook/documents');
  assert.ok('endpoint' in match, 'the upload endpoint is served');
  const reply = await manager.callEndpoint(match, createChatContext({ messages: [] }), {
    query: { name: 'leave.md' },
    headers: {},
    body: new TextEncoder().encode('# Leave\n\nEmployees get twenty-five days of paid leave a year.'),
    contentType: 'text/markdown',
  });
  assert.equal('status' in reply && reply.status, 201);
  const response = await manager.chat(chatRequest('How many days of paid leave?', { model: 'scripted-model' }));
  const citations = response.data?.citations as { name: string; section: string }[] | undefined;
  assert.equal(citations?.[0]?.name, 'leave.md');
  assert.equal(citations?.[0]?.section, 'Leave');
});

test('a misspelt key keeps it out and names the key', async () => {
  const runtime = await start(['    config:', '      chunk_size: 100']);
  assert.notEqual(runtime.manager.getPluginStatus().plugins.rag?.state, 'ACTIVE');
  assert.match(JSON.stringify(runtime.manager.getPluginStatus()), /chunk_size/);
});
