/**
 * A real MCP server (the official `@modelcontextprotocol/server` v2) for the tools plugin's
 * tests, with one tool of each behaviour the client must handle:
 *
 * - `add` (numbers → their sum, as text), `echo` (text back),
 * - `slow` (sleeps `ms` before answering: the timeout test),
 * - `fail` (answers with `isError: true`: a tool-reported error),
 * - `crash` (throws: the SDK turns it into an `isError` result too),
 * - `unlock` (registers a new tool, `secret`, so the server sends `notifications/tools/list_changed`),
 * - `env` (the names of the environment variables the server process has: the stdio env test),
 * - `picture` (an image and a text block: content other than text),
 * - `pid` (the server's process id), and over stdio only `exit` (ends the process: a server
 *   that dies under its client).
 *
 * The same server is run over stdio (`stdio-server.ts`, spawned as a child) and Streamable
 * HTTP (`http-server.ts`, in-process).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** A 1×1 transparent PNG, base64. */
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/**
 * A fresh server with the test tools (one per connection: a server serves one transport).
 *
 * @example
 * ```ts
 * const server = createTestMcpServer();
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createTestMcpServer(options: { allowExit?: boolean } = {}): McpServer {
  const server = new McpServer({ name: 'plugboard-test-server', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
    ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  );
  server.registerTool(
    'echo',
    { description: 'Says the text back', inputSchema: z.object({ text: z.string() }) },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'slow',
    { description: 'Answers after ms milliseconds', inputSchema: z.object({ ms: z.number().int().min(0) }) },
    async ({ ms }) => {
      await sleep(ms);
      return { content: [{ type: 'text', text: `slept ${ms} ms` }] };
    },
  );
  server.registerTool('fail', { description: 'Always reports an error' }, () => ({
    isError: true,
    content: [{ type: 'text', text: 'the fail tool failed, as it always does' }],
  }));
  server.registerTool('crash', { description: 'Throws' }, () => {
    throw new Error('crash tool threw');
  });
  server.registerTool('env', { description: 'Names of the environment variables of the server process' }, () => ({
    content: [{ type: 'text', text: JSON.stringify(Object.keys(process.env).sort()) }],
  }));
  server.registerTool('picture', { description: 'A picture and a caption' }, () => ({
    content: [
      { type: 'image', data: PIXEL, mimeType: 'image/png' },
      { type: 'text', text: 'a transparent pixel' },
    ],
  }));
  server.registerTool('pid', { description: 'The process id of the server' }, () => ({
    content: [{ type: 'text', text: String(process.pid) }],
  }));
  if (options.allowExit === true) {
    server.registerTool('exit', { description: 'Ends the server process' }, () => {
      setImmediate(() => process.exit(3));
      return { content: [{ type: 'text', text: 'bye' }] };
    });
  }
  let unlocked = false;
  server.registerTool('unlock', { description: 'Adds the secret tool' }, () => {
    if (!unlocked) {
      unlocked = true;
      server.registerTool('secret', { description: 'Only there once unlocked' }, () => ({
        content: [{ type: 'text', text: 'the secret is 42' }],
      }));
      server.sendToolListChanged();
    }
    return { content: [{ type: 'text', text: 'unlocked' }] };
  });
  return server;
}
