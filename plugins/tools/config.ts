import { z } from 'zod';

/**
 * The tools plugin's `config`, checked strictly (a misspelt key is an error). Keys are
 * snake_case like the rest of the configuration file; `mcp_servers` entries take the shape
 * Claude Desktop and Cursor use (`command`/`args`/`env` for stdio, `url`/`headers` for HTTP).
 */

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

/** A tool-name pattern: letters, digits, `_`, `-` and the `*` wildcard. */
const toolPattern = z
  .string()
  .regex(/^[A-Za-z0-9_*-]{1,128}$/, { error: 'expected a tool name or a pattern with * (letters, digits, _, -)' });

/** Server names become the prefix of their tools' names (`<server>__<tool>`). */
export const SERVER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

const serverCommon = {
  /** Longest a connection attempt or one request to the server may take, in ms. */
  timeout: whole(100, 600_000).default(30_000),
  enabled: z.boolean().default(true),
};

/** An MCP server started as a child process, spoken to over its stdin/stdout. */
const stdioServerSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** The child's environment: only these, plus what the MCP SDK always passes (PATH, HOME …). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  cwd: z.string().min(1).optional(),
  ...serverCommon,
});

/** An MCP server at a URL: Streamable HTTP, or the legacy SSE transport when it refuses that. */
const httpServerSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}),
  ...serverCommon,
});

export const mcpServerSchema = z.union([stdioServerSchema, httpServerSchema], {
  error: 'expected { command, args?, env?, cwd? } (stdio) or { url, headers? } (HTTP)',
});
export type McpServerConfig = z.output<typeof mcpServerSchema>;
export type StdioServerConfig = z.output<typeof stdioServerSchema>;
export type HttpServerConfig = z.output<typeof httpServerSchema>;

/** The zod schema of the plugin's `config`. */
export const toolsConfigSchema = z.strictObject({
  allow: z.array(toolPattern).default(['*']),
  deny: z.array(toolPattern).default([]),
  max_turns: whole(1, 50).default(5),
  max_parallel: whole(1, 64).default(4),
  timeout_ms: whole(1, 600_000).default(30_000),
  max_output_chars: whole(100, 1_000_000).default(20_000),
  response_output_chars: whole(0, 100_000).default(500),
  breaker: z
    .strictObject({
      failure_threshold: whole(1, 1000).default(5),
      reset_after_ms: whole(100, 3_600_000).default(30_000),
    })
    .default({ failure_threshold: 5, reset_after_ms: 30_000 }),
  reconnect: z
    .strictObject({
      initial_delay_ms: whole(10, 600_000).default(1000),
      max_delay_ms: whole(10, 3_600_000).default(60_000),
    })
    .default({ initial_delay_ms: 1000, max_delay_ms: 60_000 }),
  expose_mcp: z
    .strictObject({
      /** Serve the allowed tools as an MCP server at POST /v1/mcp. */
      enabled: z.boolean().default(false),
      /** Also the tools of the MCP servers above (Plugboard as their proxy). */
      include_mcp_tools: z.boolean().default(false),
    })
    .default({ enabled: false, include_mcp_tools: false }),
  mcp_servers: z
    .record(z.string().regex(SERVER_NAME, { error: 'expected 1–32 letters, digits, _ or -' }), mcpServerSchema)
    .default({}),
});

/** The plugin's config as validated, defaults applied. */
export type ToolsConfig = z.output<typeof toolsConfigSchema>;

/** Every config key, nested ones as `parent.child`: what the README's table lists. */
export const CONFIG_KEYS: readonly string[] = [
  ...Object.keys(toolsConfigSchema.shape),
  ...Object.keys(toolsConfigSchema.shape.breaker.unwrap().shape).map((key) => `breaker.${key}`),
  ...Object.keys(toolsConfigSchema.shape.reconnect.unwrap().shape).map((key) => `reconnect.${key}`),
  ...Object.keys(toolsConfigSchema.shape.expose_mcp.unwrap().shape).map((key) => `expose_mcp.${key}`),
  ...new Set([
    ...Object.keys(stdioServerSchema.shape).map((key) => `mcp_servers.${key}`),
    ...Object.keys(httpServerSchema.shape).map((key) => `mcp_servers.${key}`),
  ]),
];

/** True for a stdio server entry. */
export function isStdioServer(server: McpServerConfig): server is StdioServerConfig {
  return 'command' in server;
}
