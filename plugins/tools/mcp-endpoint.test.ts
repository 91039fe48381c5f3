/**
 * Plugboard's own tools as an MCP server (`expose_mcp`): an agent with the official MCP client
 * (Streamable HTTP) lists the allowed tools and calls them at POST /v1/mcp, through the
 * request middleware (so an API key is needed when auth is on) and the same runner as the
 * tool loop (a tool's exception text never gets out). Off by default: 404 with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { type ChatContext, defineMiddleware, reject } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { calculatorPlugin } from './testing/calculator-plugin.ts';
import { startTestMcpHttpServer, type TestMcpHttpServer } from './testing/http-server.ts';
import { createToolsPlugin } from './tools.plugin.ts';

const keyCheck = defineMiddleware({
  metadata: { name: 'key-check', version: '1.0.0' },
  processRequest: (context: ChatContext) =>
    context.client?.headers?.authorization === 'Bearer agent-key'
      ? { ...context, principal: { id: 'agent' } }
      : reject('REQUEST_REJECTED', 'An API key is needed', { status: 401 }),
});

async function connect(url: string, key = 'agent-key'): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/v1/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

describe('expose_mcp: on', () => {
  let server: TestServer;
  let upstream: TestMcpHttpServer;
  before(async () => {
    upstream = await startTestMcpHttpServer();
    server = await startTestServer([
      createScriptedBackend(),
      calculatorPlugin().plugin,
      keyCheck,
      [
        createToolsPlugin,
        {
          config: { deny: ['hang*'], expose_mcp: { enabled: true }, mcp_servers: { calc: { url: upstream.url } } },
        },
      ],
    ]);
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  test('an MCP client lists the allowed tools (not denied ones, not the proxied MCP servers’) and calls them', async () => {
    const client = await connect(server.url);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((tool) => tool.name);
      assert.ok(names.includes('add'), names.join(', '));
      assert.ok(!names.some((name) => name.startsWith('hang')), 'denied tools are not exposed');
      assert.ok(!names.some((name) => name.startsWith('calc__')), 'tools of MCP servers are not proxied by default');
      const add = tools.find((tool) => tool.name === 'add');
      assert.equal(add?.inputSchema.type, 'object');

      const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
      assert.equal(sum.isError, false);
      assert.deepEqual(sum.content, [{ type: 'text', text: '{"sum":42}' }]);

      const exploded = await client.callTool({ name: 'explode', arguments: {} });
      assert.equal(exploded.isError, true);
      assert.doesNotMatch(JSON.stringify(exploded.content), /hunter2/, 'no exception text gets out');
    } finally {
      await client.close();
    }
  });

  test('the middleware runs first: without a key the client cannot connect', async () => {
    await assert.rejects(connect(server.url, 'wrong'), /401|An API key is needed/);
  });

  test('GET (a server-to-client stream) is not offered: 405', async () => {
    const response = await fetch(`${server.url}/v1/mcp`, { headers: { authorization: 'Bearer agent-key' } });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
  });
});

describe('expose_mcp: off (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), calculatorPlugin().plugin, createToolsPlugin]);
  });
  after(() => server.close());

  test('POST /v1/mcp answers 404 saying how to turn it on', async () => {
    const response = await fetch(`${server.url}/v1/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(response.status, 404);
    assert.match(await response.text(), /expose_mcp/);
  });
});
