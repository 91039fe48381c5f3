/**
 * The web_search tool, loaded in a real PluginManager and run as the tool loop runs it, against
 * a local fake SearXNG (node:http on 127.0.0.1): there is no internet here, and no SearXNG to
 * run, so the fake stands in for the provider.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { PluginManager } from '../../src/core/manager/plugin-manager.ts';
import { type RegisteredTool, toolRegistryRef } from '../../src/index.ts';
import { startManager } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { type FakeSearxng, searxngJson, startFakeSearxng } from './testing/fake-searxng.ts';
import { createWebSearchPlugin } from './web-search.plugin.ts';

const PASSWORD = 'hunter2-provider-password';
const API_KEY = 'sk-provider-api-key-123';

let fake: FakeSearxng;
const managers: PluginManager[] = [];

before(async () => {
  fake = await startFakeSearxng();
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.shutdown()));
  fake.requests.length = 0;
});
after(() => fake.close());

/** The web_search tool of a manager started with this config. */
async function webSearch(config: Record<string, unknown> = {}): Promise<RegisteredTool> {
  const manager = await startManager([[createWebSearchPlugin(), { config: { url: fake.url, ...config } }]]);
  managers.push(manager);
  const status = manager.getPluginStatus().plugins.web_search;
  assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
  const tool = manager.defaultService(toolRegistryRef)?.get('web_search');
  assert.ok(tool, 'web_search is registered');
  return tool;
}

const run = async (tool: RegisteredTool, args: Record<string, unknown>, signal = new AbortController().signal) =>
  tool.run(args, { requestId: 'test', signal }) as Promise<{ query: string; results: Record<string, string>[] }>;

function answerWith(results: readonly Record<string, unknown>[]): void {
  fake.respond = (_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(searxngJson(results));
  };
}

const numbered = (count: number) =>
  Array.from({ length: count }, (_, index) => ({
    title: `Result ${index}`,
    url: `https://example.org/${index}`,
    content: `Snippet ${index}`,
    engine: 'fake',
  }));

/** Asserts a rejection with `code`, whose message matches `message` and holds no secret. */
async function assertFails(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: { code?: unknown; message?: unknown }) => {
    assert.equal(error.code, code, String(error.message));
    assert.match(String(error.message), message);
    for (const secret of [PASSWORD, API_KEY, 'searxuser']) {
      assert.ok(!String(error.message).includes(secret), `the message leaks ${secret}: ${String(error.message)}`);
    }
    return true;
  });
}

describe('answers', () => {
  test('results are mapped to { title, url, snippet }; the query is sent URL-encoded, with the settings', async () => {
    answerWith(numbered(2));
    const tool = await webSearch({ safe_search: 'strict', language: 'fr-CA', headers: { 'X-Api-Key': API_KEY } });
    const query = 'café & "co" 100% ?=#';
    const answer = await run(tool, { query });
    assert.deepEqual(answer, {
      query,
      results: [
        { title: 'Result 0', url: 'https://example.org/0', snippet: 'Snippet 0' },
        { title: 'Result 1', url: 'https://example.org/1', snippet: 'Snippet 1' },
      ],
    });
    const [request] = fake.requests;
    const raw = request?.url ?? '';
    assert.ok(raw.startsWith('/search?'), raw);
    assert.ok(!/[ "#]/.test(raw) && raw.includes('%26') && raw.includes('caf%C3%A9'), `encoded: ${raw}`);
    const sent = new URL(raw, fake.url).searchParams;
    assert.equal(sent.get('q'), query, 'the provider reads back the very query');
    assert.equal(sent.get('format'), 'json');
    assert.equal(sent.get('safesearch'), '2');
    assert.equal(sent.get('language'), 'fr-CA');
    assert.equal(request?.headers['x-api-key'], API_KEY);
  });

  test('a base URL with a path and credentials: /search under the path, credentials as Basic auth', async () => {
    answerWith(numbered(1));
    const base = fake.url.replace('http://', `http://searxuser:${PASSWORD}@`);
    const tool = await webSearch({ url: `${base}/searx` });
    await run(tool, { query: 'x' });
    const [request] = fake.requests;
    assert.ok(request?.url?.startsWith('/searx/search?'), request?.url);
    assert.equal(request?.headers.authorization, `Basic ${Buffer.from(`searxuser:${PASSWORD}`).toString('base64')}`);
  });

  test('max_results: the configured number by default, fewer when asked, never more', async () => {
    answerWith(numbered(12));
    const tool = await webSearch({ max_results: 5 });
    assert.equal((await run(tool, { query: 'x' })).results.length, 5);
    assert.equal((await run(tool, { query: 'x', max_results: 3 })).results.length, 3);
    await assertFails(run(tool, { query: 'x', max_results: 8 }), 'TOOL_ARGUMENTS_INVALID', /max_results/);
    const twenty = await webSearch({ max_results: 20 });
    assert.equal((await run(twenty, { query: 'x' })).results.length, 12, 'as many as the provider had');
  });

  test('non-http URLs are dropped, credentials and duplicates removed, text trimmed', async () => {
    answerWith([
      { title: 'script', url: 'javascript:alert(1)', content: '' },
      { title: 'data', url: 'data:text/html,<b>x</b>', content: '' },
      { title: 'file', url: 'file:///etc/passwd', content: '' },
      { title: 'ftp', url: 'ftp://example.org/x', content: '' },
      { title: 'broken', url: 'not a url', content: '' },
      { title: 'missing', content: 'no url at all' },
      { title: '  Spaced\n\ttitle ', url: 'https://user:pw@example.org/a', content: `${'word '.repeat(200)}end` },
      { title: 'again', url: 'https://example.org/a', content: 'duplicate' },
      { title: null, url: 'http://example.com/b', content: null },
    ]);
    const tool = await webSearch({ snippet_chars: 60 });
    const { results } = await run(tool, { query: 'x' });
    assert.deepEqual(
      results.map((result) => [result.title, result.url]),
      [
        ['Spaced title', 'https://example.org/a'],
        ['', 'http://example.com/b'],
      ],
    );
    const snippet = results[0]?.snippet ?? '';
    assert.ok(snippet.length <= 60 && snippet.endsWith('…') && snippet.startsWith('word word'), snippet);
  });
});

describe('provider failures are coded, and leak no credentials', () => {
  const secretUrl = () => fake.url.replace('http://', `http://searxuser:${PASSWORD}@`);

  test('a 500 from the provider', async () => {
    fake.respond = (_request, response) => {
      response.statusCode = 500;
      response.end(`internal error, your key ${API_KEY}`);
    };
    const tool = await webSearch({ url: secretUrl(), headers: { 'X-Api-Key': API_KEY } });
    await assertFails(run(tool, { query: 'x' }), 'web_search/PROVIDER_FAILED', /HTTP 500/);
  });

  test('malformed JSON, and JSON without results', async () => {
    const tool = await webSearch({ url: secretUrl() });
    fake.respond = (_request, response) => response.end('{"results": [');
    await assertFails(run(tool, { query: 'x' }), 'web_search/PROVIDER_INVALID_RESPONSE', /did not answer JSON/);
    fake.respond = (_request, response) => response.end('<html>SearXNG</html>');
    await assertFails(run(tool, { query: 'x' }), 'web_search/PROVIDER_INVALID_RESPONSE', /did not answer JSON/);
    fake.respond = (_request, response) => response.end('{"answers": []}');
    await assertFails(run(tool, { query: 'x' }), 'web_search/PROVIDER_INVALID_RESPONSE', /results list/);
  });

  test('no answer within timeout_ms', async () => {
    fake.respond = () => {
      // never answers; the fake's close ends the connection
    };
    const tool = await webSearch({ url: secretUrl(), timeout_ms: 100 });
    await assertFails(run(tool, { query: 'x' }), 'web_search/TIMEOUT', /within 100 ms/);
  });

  test('a provider that is not running', async () => {
    const tool = await webSearch({ url: `http://searxuser:${PASSWORD}@127.0.0.1:${await closedPort()}` });
    await assertFails(
      run(tool, { query: 'x' }),
      'web_search/PROVIDER_UNAVAILABLE',
      /could not be reached \(ECONNREFUSED\)/,
    );
  });

  test('a redirect is not followed (it could carry the headers elsewhere)', async () => {
    fake.respond = (_request, response) => {
      response.statusCode = 302;
      response.setHeader('location', 'http://127.0.0.1:1/elsewhere');
      response.end();
    };
    const tool = await webSearch({ url: secretUrl(), headers: { 'X-Api-Key': API_KEY } });
    await assertFails(run(tool, { query: 'x' }), 'web_search/PROVIDER_FAILED', /redirect/);
  });

  test("the caller's cancellation is a cancellation, not a timeout", async () => {
    fake.respond = () => {};
    const tool = await webSearch({ timeout_ms: 60_000 });
    const controller = new AbortController();
    const pending = run(tool, { query: 'x' }, controller.signal);
    controller.abort(new Error('request cancelled'));
    await assert.rejects(pending, /request cancelled/);
  });
});

test('the tool is removed at shutdown', async () => {
  const manager = await startManager([[createWebSearchPlugin(), { config: { url: fake.url } }]]);
  const registry = manager.defaultService(toolRegistryRef);
  assert.ok(registry?.get('web_search'), 'registered');
  await manager.shutdown();
  assert.equal(registry?.get('web_search'), undefined);
});
