import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toolsConfigSchema } from './config.ts';

describe('tools config', () => {
  test('defaults', () => {
    const config = toolsConfigSchema.parse({});
    assert.deepEqual(config.allow, ['*']);
    assert.deepEqual(config.deny, []);
    assert.equal(config.max_turns, 5);
    assert.equal(config.max_parallel, 4);
    assert.equal(config.timeout_ms, 30_000);
    assert.deepEqual(config.breaker, { failure_threshold: 5, reset_after_ms: 30_000 });
    assert.deepEqual(config.mcp_servers, {});
  });

  test('mcp_servers in the shape Claude Desktop and Cursor use, with defaults', () => {
    const config = toolsConfigSchema.parse({
      mcp_servers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] },
        remote: { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer x' }, timeout: 5000 },
      },
    });
    assert.deepEqual(config.mcp_servers.files, {
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'],
      env: {},
      timeout: 30_000,
      enabled: true,
    });
    assert.deepEqual(config.mcp_servers.remote, {
      url: 'https://mcp.example.com/mcp',
      headers: { Authorization: 'Bearer x' },
      timeout: 5000,
      enabled: true,
    });
  });

  test('refuses what would go wrong later', () => {
    const refused = (input: unknown, pattern: RegExp) => {
      const result = toolsConfigSchema.safeParse(input);
      assert.ok(!result.success, `refused: ${JSON.stringify(input)}`);
      assert.match(JSON.stringify(result.error.issues), pattern);
    };
    refused({ mcp_servers: { 'bad name': { command: 'x' } } }, /letters, digits/);
    refused({ mcp_servers: { both: { command: 'x', url: 'http://a' } } }, /expected \{ command/);
    refused({ mcp_servers: { web: { url: 'file:///etc/passwd' } } }, /http\(s\) URL|expected \{ command/);
    refused({ allow: ['db.query'] }, /pattern with \*/);
    refused({ max_turns: 0 }, /max_turns/);
    refused({ timeouts: 1 }, /timeouts/);
  });
});
