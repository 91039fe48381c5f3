/**
 * MCP tools as the registry holds them: names namespaced per server (`<server>__<tool>`, within
 * the registry's name rule), the server's input schema as parameters, and a call result as the
 * text the model reads.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/client';

const MAX_NAME = 64;

/**
 * The registry name of a server's tool: `<server>__<tool>`, every character outside letters,
 * digits, `_` and `-` replaced by `_`, cut to 64 characters.
 *
 * @example
 * ```ts
 * namespacedName('files', 'read.file'); // 'files__read_file'
 * ```
 */
export function namespacedName(server: string, tool: string): string {
  return `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_NAME);
}

/**
 * A tool's input schema as tool parameters: a JSON Schema object without `$schema` (noise to
 * a model; some backends refuse it).
 *
 * @example
 * ```ts
 * toolParametersOf({ name: 'add', inputSchema: { type: 'object', $schema: '…' } }); // { type: 'object', properties: {} }
 * ```
 */
export function toolParametersOf(tool: Tool): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = (tool.inputSchema ?? {}) as Record<string, unknown>;
  return { ...schema, type: 'object', properties: schema.properties ?? {} };
}

/**
 * A call result's content as text: text blocks joined by blank lines; other blocks summarized
 * (an image or audio by its type and size, a resource by its URI and its text when it has
 * some); without content, the structured content as JSON.
 *
 * @example
 * ```ts
 * resultText({ content: [{ type: 'text', text: '5' }] }); // '5'
 * ```
 */
export function resultText(result: CallToolResult): string {
  const parts = (result.content ?? []).map((block): string => {
    switch (block.type) {
      case 'text':
        return block.text;
      case 'image':
      case 'audio':
        return `[${block.type}: ${block.mimeType}, ${Buffer.byteLength(block.data, 'base64')} bytes]`;
      case 'resource': {
        const resource = block.resource;
        return 'text' in resource && typeof resource.text === 'string'
          ? `[resource ${resource.uri}]\n${resource.text}`
          : `[resource ${resource.uri}${resource.mimeType ? `, ${resource.mimeType}` : ''}]`;
      }
      case 'resource_link':
        return `[resource link ${block.uri}${block.name ? ` (${block.name})` : ''}]`;
      default:
        return `[${(block as { type: string }).type} content]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n\n');
}
