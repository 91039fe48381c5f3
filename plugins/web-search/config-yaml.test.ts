/**
 * Loaded by name from a YAML configuration (`features: { web_search: { config } }`, no
 * plugin_file), with the URL and an API key from `${VAR}` references, against a local fake
 * SearXNG (there is no internet here). Without an entry there is no tool: it is off by default.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { toolRegistryRef } from '../../src/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { type FakeSearxng, searxngJson, startFakeSearxng } from './testing/fake-searxng.ts';

const SCRIPTED = `import { createScriptedBackend } from ${JSON.stringify(new URL('../../src/testing/index.ts', import.meta.url).pathname)};\nexport default createScriptedBackend();\n`;

let fake: FakeSearxng;
let fixture: RuntimeFixture | undefined;
before(async () => {
  fake = await startFakeSearxng();
});
afterEach(() => fixture?.dispose());
after(() => fake.close());

async function start(lines: readonly string[], env: Record<string, string> = {}) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-web-search-yaml-'));
  await fixture.write('scripted.plugin.ts', SCRIPTED);
  await fixture.write(
    'config.yaml',
    ['mode: staging', 'backends:', '  scripted: { plugin_file: scripted.plugin.ts }', ...lines].join('\n'),
  );
  return fixture.start({ env });
}

test('`web_search` under features loads by name, with its URL and API key from the environment', async () => {
  fake.respond = (request, response) => {
    const key = request.headers['x-api-key'];
    response.end(searxngJson([{ title: `key ${String(key)}`, url: 'https://example.org/', content: 'found' }]));
  };
  const runtime = await start(
    [
      'features:',
      '  web_search:',
      '    config:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      url: "${SEARXNG_URL}"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      headers: { X-Api-Key: "${SEARCH_API_KEY}" }',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      max_results: "${SEARCH_MAX:3}"',
    ],
    { SEARXNG_URL: fake.url, SEARCH_API_KEY: 'k-123' },
  );
  const status = runtime.manager.getPluginStatus().plugins.web_search;
  assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
  const tool = runtime.manager.defaultService(toolRegistryRef)?.get('web_search');
  assert.equal(tool?.owner, 'web_search');
  assert.match(tool?.description ?? '', /up to 3 results/);
  const answer = await tool?.run({ query: 'plugboard' }, { requestId: 'r', signal: new AbortController().signal });
  assert.deepEqual(answer, {
    query: 'plugboard',
    results: [{ title: 'key k-123', url: 'https://example.org/', snippet: 'found' }],
  });
});

test('off by default: without an entry, no web_search tool', async () => {
  const runtime = await start([]);
  assert.equal(runtime.manager.getPluginStatus().plugins.web_search, undefined);
  assert.equal(runtime.manager.defaultService(toolRegistryRef)?.get('web_search'), undefined);
});

test('a misspelt key or a missing url keeps it out, naming the key', async () => {
  for (const config of ['{ url: "http://127.0.0.1:1", max_result: 3 }', '{ max_results: 3 }']) {
    const runtime = await start(['features:', '  web_search:', `    config: ${config}`]);
    const status = runtime.manager.getPluginStatus().plugins.web_search;
    assert.equal(status?.state, 'ERROR', config);
    assert.equal(status?.lastError?.code, 'PLUGIN_CONFIG_INVALID');
    assert.match(status?.lastError?.message ?? '', /max_result|url/);
    await fixture?.dispose();
    fixture = undefined;
  }
});
