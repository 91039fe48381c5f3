import { randomUUID } from 'node:crypto';
import type { JsonSchemaType, McpServer } from '@modelcontextprotocol/server';
import type {
  EndpointReply,
  EndpointRequest,
  PluginCall,
  PluginEndpoint,
  RegisteredTool,
  ToolRegistry,
} from '../../../src/index.ts';
import { toolsErrors } from '../errors.ts';
import type { ToolRunner } from '../tool-runner.ts';
import type { ToolFilter } from '../tool-selection.ts';

/** The path other agents connect their MCP client to (Streamable HTTP). */
export const MCP_ENDPOINT_PATH = '/v1/mcp';

/** What the endpoint serves from, once the plugin has started. */
export interface McpExposure {
  readonly registry: ToolRegistry;
  readonly runner: ToolRunner;
  readonly filter: ToolFilter;
  /** Also offer the tools of the MCP servers this plugin is a client of (a proxy); off by default. */
  readonly includeMcpTools: boolean;
  readonly version: string;
}

/**
 * `POST /v1/mcp`: Plugboard's own tools — the allowed ones the registry holds (db_query,
 * web_search, a plugin's defineTool …) — as an MCP server over Streamable HTTP, so that
 * other agents can use them. Stateless (no session: each POST is served by a fresh server,
 * as the SDK's `createMcpHandler` does), answered as JSON; `GET` (a server-to-client stream)
 * is not offered, which the transport allows. It is a plugin endpoint: the request
 * middleware runs first, so with the auth plugin a key needs the `chat` scope. Calls run
 * through the same runner as the tool loop's: timeouts, breakers, metrics, and no exception
 * text in a result.
 */
export function mcpEndpoint(exposure: () => McpExposure | undefined): PluginEndpoint {
  return {
    method: 'POST',
    path: MCP_ENDPOINT_PATH,
    scope: 'chat',
    description: "Plugboard's tools as an MCP server (Streamable HTTP, stateless)",
    async handle(request, call): Promise<EndpointReply> {
      const exposed = exposure();
      if (exposed === undefined) {
        throw toolsErrors.MCP_ENDPOINT_OFF(
          'This server does not expose its tools over MCP (the tools plugin’s expose_mcp is off)',
        );
      }
      // Loaded on the first MCP request: a server that never gets one does not pay for the SDK.
      const sdk = await import('@modelcontextprotocol/server');
      const handler = sdk.createMcpHandler(() => serverOf(sdk, exposed, request, call), {
        responseMode: 'json',
        legacy: 'stateless',
      });
      try {
        const response = await handler.fetch(webRequest(request), { parsedBody: request.body });
        return await toReply(response);
      } finally {
        await handler.close();
      }
    },
  };
}

function serverOf(
  sdk: typeof import('@modelcontextprotocol/server'),
  exposed: McpExposure,
  request: EndpointRequest,
  call: PluginCall,
): McpServer {
  const server = new sdk.McpServer({ name: 'plugboard', version: exposed.version });
  for (const tool of exposedTools(exposed)) {
    server.registerTool(
      tool.name,
      { description: tool.description, inputSchema: sdk.fromJsonSchema(tool.parameters as JsonSchemaType) },
      async (args: unknown) => {
        const result = await exposed.runner.run(
          tool,
          { id: `mcp_${randomUUID()}`, name: tool.name, arguments: JSON.stringify(args ?? {}) },
          {
            requestId: request.context.requestId,
            ...(request.principal === undefined ? {} : { principal: request.principal }),
            signal: call.signal,
            logger: call.logger,
          },
        );
        return { content: [{ type: 'text' as const, text: result.content }], isError: result.outcome !== 'ok' };
      },
    );
  }
  return server;
}

function exposedTools(exposed: McpExposure): RegisteredTool[] {
  return exposed.registry
    .list()
    .filter((tool) => exposed.filter.allows(tool.name))
    .filter((tool) => exposed.includeMcpTools || !tool.owner.startsWith('mcp:'))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The headers an MCP client sends that the transport reads. */
const MCP_HEADERS = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id'];

function webRequest(request: EndpointRequest): Request {
  const headers = new Headers();
  for (const name of MCP_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined) headers.set(name, value);
  }
  const body = request.body instanceof Uint8Array ? request.body : JSON.stringify(request.body ?? null);
  return new Request(`http://plugboard.invalid${MCP_ENDPOINT_PATH}`, { method: 'POST', headers, body });
}

async function toReply(response: Response): Promise<EndpointReply> {
  const headers: Record<string, string> = {};
  for (const name of ['mcp-session-id', 'mcp-protocol-version']) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const text = await response.text();
  if (text === '') return { status: response.status === 204 ? 204 : 202, headers };
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) return { status: response.status, body: JSON.parse(text), headers };
  return { status: response.status, text, contentType: type.split(';')[0] || 'text/plain', headers };
}
