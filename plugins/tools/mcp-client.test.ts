/**
 * The MCP client against a real MCP server (the official `@modelcontextprotocol/server` v2, in
 * testing/): spawned over stdio, and in-process over Streamable HTTP and over the legacy SSE
 * transport (v2's server package no longer has one: testing/legacy-sse-transport.ts is a small
 * one of our own, to prove the client's fallback). Each test runs a real PluginManager with the
 * tools plugin; a scripted backend plays the model, since the tiny llama.cpp test model cannot
 * produce tool calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { PluginManager } from '../../src/core/manager/plugin-manager.ts';
import { type ChatContext, definePlugin, type ToolCall, type ToolRegistry, toolRegistryRef } from '../../src/index.ts';
import { chatRequest, createScriptedBackend, type ScriptedReply, startManager } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { startTestMcpHttpServer, type TestMcpHttpServer } from './testing/http-server.ts';
import { createToolsPlugin } from './tools.plugin.ts';

const STDIO_SERVER = fileURLToPath(new URL('./testing/stdio-server.ts', import.meta.url));
const stdioEntry = (extra: object = {}) => ({
  command: process.execPath,
  args: ['--import', 'tsx', STDIO_SERVER],
  ...extra,
});

/** A model that calls the tool named in the user's message as `name args`, then answers with its result. */
function scriptedModel() {
  return createScriptedBackend({
    reply: (context: ChatContext): ScriptedReply => {
      const last = context.messages.at(-1);
      if (last?.role === 'tool') return { content: `result: ${last.content}` };
      const [name, ...args] = (last?.content ?? '').split(' ');
      const call: ToolCall = { id: 'call-1', name: name ?? '', arguments: args.join(' ') || '{}' };
      return { toolCalls: [call] };
    },
  });
}

/** A plugin that hands the test the shared tool registry. */
function registryProbe() {
  const probe: { registry?: ToolRegistry } = {};
  const plugin = definePlugin({
    metadata: { name: 'registry-probe', version: '1.0.0', consumes: [toolRegistryRef] },
    initialize(_config, call) {
      probe.registry = call.services.get(toolRegistryRef);
    },
  });
  return { probe, plugin };
}

async function startWith(config: object) {
  const { probe, plugin } = registryProbe();
  const manager = await startManager([scriptedModel(), plugin, [createToolsPlugin, { config }]]);
  assert.equal(manager.getPluginStatus().plugins.tools?.state, 'ACTIVE', 'the tools plugin is active');
  return { manager, registry: probe.registry! };
}

async function ask(manager: PluginManager, question: string): Promise<string> {
  return (await manager.chat(chatRequest(question))).message.content;
}

async function toolsHealth(manager: PluginManager) {
  const health = (await manager.getHealth()).plugins.tools?.health;
  assert.ok(health, 'the tools plugin reports health');
  return health as typeof health & {
    details?: { mcp_servers?: Record<string, { state: string; transport?: string }> };
  };
}

/** Polls `condition` until it holds (or fails the test after `ms`). */
async function eventually(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(25);
  }
}

const SECRET_VAR = 'PLUGBOARD_TOOLS_TEST_SECRET';

describe('MCP over stdio', () => {
  let manager: PluginManager;
  let registry: ToolRegistry;
  before(async () => {
    process.env[SECRET_VAR] = 'do-not-leak';
    ({ manager, registry } = await startWith({
      mcp_servers: { calc: stdioEntry({ env: { GREETING: 'hello' } }) },
      reconnect: { initial_delay_ms: 50, max_delay_ms: 200 },
    }));
  });
  after(async () => {
    delete process.env[SECRET_VAR];
    await manager.shutdown();
  });

  test("the server's tools are registered, namespaced, with its input schema", async () => {
    const add = registry.get('calc__add');
    assert.ok(add, 'calc__add is registered');
    assert.equal(add.owner, 'mcp:calc');
    assert.equal(add.description, 'Adds two numbers');
    assert.deepEqual(add.parameters, {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    });
    const health = await toolsHealth(manager);
    assert.equal(health.status, 'healthy');
  });

  test('a tool call round-trips through the server', async () => {
    assert.equal(await ask(manager, 'calc__add {"a":2,"b":3}'), 'result: 5');
  });

  test('an isError result is an error the model reads', async () => {
    assert.equal(await ask(manager, 'calc__fail'), 'result: Error: the fail tool failed, as it always does');
  });

  test('content other than text is summarized', async () => {
    assert.equal(await ask(manager, 'calc__picture'), 'result: [image: image/png, 68 bytes]\n\na transparent pixel');
  });

  test('the child gets the configured env plus PATH/HOME, not the server’s other variables', async () => {
    const names = JSON.parse((await ask(manager, 'calc__env')).replace('result: ', '')) as string[];
    assert.ok(names.includes('GREETING'), 'configured variable present');
    assert.ok(names.includes('PATH'), 'PATH present');
    assert.ok(!names.includes(SECRET_VAR), "the server's own variables do not leak");
  });

  test('list_changed: a tool the server adds is registered', async () => {
    assert.equal(registry.get('calc__secret'), undefined);
    assert.equal(await ask(manager, 'calc__unlock'), 'result: unlocked');
    await eventually(() => registry.get('calc__secret') !== undefined, 'calc__secret');
    assert.equal(await ask(manager, 'calc__secret'), 'result: the secret is 42');
  });

  test('a server that dies is reported, its tools withdrawn, and it is restarted', async () => {
    const pid = Number((await ask(manager, 'calc__pid')).replace('result: ', ''));
    await ask(manager, 'calc__exit');
    await eventually(() => !isAlive(pid), 'the child to exit');
    await eventually(
      async () => Number((await ask(manager, 'calc__pid')).replace('result: ', '')) > 0,
      'the server to be back',
    );
    const again = Number((await ask(manager, 'calc__pid')).replace('result: ', ''));
    assert.notEqual(again, pid, 'a new child');
  });
});

describe('MCP over HTTP', () => {
  let mcp: TestMcpHttpServer;
  let legacy: TestMcpHttpServer;
  let manager: PluginManager;
  let registry: ToolRegistry;
  before(async () => {
    mcp = await startTestMcpHttpServer({ requiredHeaders: { 'x-api-key': 'k1' } });
    legacy = await startTestMcpHttpServer({ mode: 'legacy-sse' });
    ({ manager, registry } = await startWith({
      mcp_servers: {
        web: { url: mcp.url, headers: { 'x-api-key': 'k1' } },
        quick: { url: mcp.url, headers: { 'x-api-key': 'k1' }, timeout: 2000 },
        old: { url: legacy.url },
      },
    }));
  });
  after(async () => {
    await manager.shutdown();
    await mcp.close();
    await legacy.close();
  });

  test('Streamable HTTP, with the configured headers: a call round-trips', async () => {
    const health = await toolsHealth(manager);
    assert.equal(health.status, 'healthy', health.message);
    assert.equal(health.details?.mcp_servers?.web?.transport, 'streamable_http');
    assert.equal(await ask(manager, 'web__echo {"text":"over http"}'), 'result: over http');
  });

  test('a server that refuses the Streamable HTTP POST is spoken to over SSE', async () => {
    const health = await toolsHealth(manager);
    assert.equal(health.details?.mcp_servers?.old?.transport, 'sse');
    assert.ok((legacy.requests.get('POST') ?? 0) > 0, 'the POST was tried first');
    assert.equal(await ask(manager, 'old__add {"a":40,"b":2}'), 'result: 42');
  });

  test("a call longer than the server's timeout is a timeout the model reads", async () => {
    const response = await manager.chat(chatRequest('quick__slow {"ms":8000}'));
    assert.match(response.message.content, /^result: Error: Tool "quick__slow" did not answer within 2000 ms/);
    const records = (response.data as { tools: { outcome: string }[] }).tools;
    assert.equal(records[0]?.outcome, 'timeout');
  });

  test('list_changed over HTTP', async () => {
    await ask(manager, 'web__unlock');
    await eventually(() => registry.get('web__secret') !== undefined, 'web__secret');
  });
});

describe('MCP servers that are down', () => {
  test('the plugin stays ACTIVE, reports degraded health naming each, and connects once the server is up', async () => {
    const port = await closedPort();
    const { manager, registry } = await startWith({
      mcp_servers: {
        missing: { command: '/nonexistent/mcp-server' },
        later: { url: `http://127.0.0.1:${port}/mcp`, timeout: 2000 },
        off: { command: '/nonexistent/other', enabled: false },
      },
      reconnect: { initial_delay_ms: 50, max_delay_ms: 200 },
    });
    let mcp: TestMcpHttpServer | undefined;
    try {
      const health = await toolsHealth(manager);
      assert.equal(health.status, 'degraded');
      assert.match(health.message ?? '', /MCP server "missing" is (down|connecting): .*ENOENT/);
      assert.match(health.message ?? '', /MCP server "later" is (down|connecting)/);
      assert.doesNotMatch(health.message ?? '', /"off"/, 'a disabled server is not started');
      assert.equal(registry.list().length, 0);
      const system = await manager.getHealth();
      assert.equal(system.status, 'degraded');

      mcp = await startTestMcpHttpServer({ port });
      await eventually(() => registry.get('later__add') !== undefined, 'the server to be connected');
      assert.equal(await ask(manager, 'later__add {"a":1,"b":1}'), 'result: 2');
    } finally {
      await manager.shutdown();
      await mcp?.close();
    }
  });

  test('shutdown ends a stdio child', async () => {
    const { manager } = await startWith({ mcp_servers: { calc: stdioEntry() } });
    const pid = Number((await ask(manager, 'calc__pid')).replace('result: ', ''));
    assert.ok(isAlive(pid), 'the child runs');
    await manager.shutdown();
    await eventually(() => !isAlive(pid), 'the child to be gone');
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
