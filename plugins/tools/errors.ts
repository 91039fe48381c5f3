import { defineErrors } from '../../src/index.ts';

/**
 * The tools plugin's error codes. None of them reaches a client: they are what a `tool`
 * message tells the model when a call did not give a result, so that it can try again, try
 * another tool or answer without. Their messages name the tool, never a tool's exception text.
 */
export const toolsErrors = defineErrors('tools', {
  MCP_ENDPOINT_OFF: {
    summary: 'A client asked for Plugboard’s tools over MCP (POST /v1/mcp), but the tools plugin does not expose them',
    hint: 'Set expose_mcp.enabled: true in the tools plugin’s config to serve them.',
    status: 404,
  },
  TOOL_TIMEOUT: {
    summary: 'A tool did not answer within its timeout',
    hint: 'Raise timeout_ms (or the tool’s own timeout, or the MCP server’s timeout), or make the tool faster.',
    status: 504,
  },
  TOOL_UNAVAILABLE: {
    summary:
      'A tool is out of service: its circuit breaker is open after repeated failures, or its MCP server is not connected',
    hint: 'GET /health names the MCP servers that are down and why; a breaker lets one trial call through after breaker.reset_after_ms.',
    status: 503,
  },
  TOOL_FAILED: {
    summary: 'A tool failed unexpectedly (the log has the exception)',
    hint: 'See the log line of the tools plugin for this request: the exception is there, not in the model’s context.',
    status: 502,
  },
  TOOL_REPORTED_ERROR: {
    summary: 'An MCP tool answered with an error result (isError)',
    hint: 'The tool’s own text is given to the model, which may correct its call.',
    status: 422,
  },
});
