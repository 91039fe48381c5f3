/**
 * The test MCP server over stdio: the tools plugin's tests spawn it as
 * `node --import tsx plugins/tools/testing/stdio-server.ts`. It exits when its stdin closes.
 */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createTestMcpServer } from './test-mcp-server.ts';

await createTestMcpServer({ allowExit: true }).connect(new StdioServerTransport());
