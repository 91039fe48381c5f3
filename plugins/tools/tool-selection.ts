/**
 * Which registered tools a request offers the model: the `allow`/`deny` patterns of the
 * config, then the client's own tools, which win a name they share with a server tool.
 */
import type { ChatContext, RegisteredTool, ToolDefinition } from '../../src/index.ts';

/** The `context.metadata` key under which `extend` records the server tools it offered. */
export const OFFERED_KEY = 'serverTools';

/** A matcher of tool names by `allow` and `deny` patterns, where `*` matches any run of characters. */
export class ToolFilter {
  readonly #allow: readonly RegExp[];
  readonly #deny: readonly RegExp[];

  constructor(allow: readonly string[], deny: readonly string[]) {
    this.#allow = allow.map(globPattern);
    this.#deny = deny.map(globPattern);
  }

  /** True when a pattern of `allow` matches the name and none of `deny` does. */
  allows(name: string): boolean {
    return this.#allow.some((pattern) => pattern.test(name)) && !this.#deny.some((pattern) => pattern.test(name));
  }
}

function globPattern(pattern: string): RegExp {
  // Patterns are validated to letters, digits, _, - and *: only * is special.
  return new RegExp(`^${pattern.split('*').join('.*')}$`);
}

/** What {@link offerTools} decided for one request. */
export interface Offer {
  /** The tools to send the model: the client's, then the allowed server tools. */
  readonly tools: readonly ToolDefinition[];
  /** The server tools offered (the ones the tool loop runs). */
  readonly offered: readonly string[];
  /** Server tools left out because the client declared a tool of the same name. */
  readonly shadowed: readonly string[];
}

/**
 * The tools for a request, or undefined when the request gets none of the server's: no tool
 * allowed, or the client said `toolChoice: 'none'`.
 *
 * @example
 * ```ts
 * const offer = offerTools(context, registry.list(), new ToolFilter(['*'], ['db_*']));
 * ```
 */
export function offerTools(
  context: ChatContext,
  registered: readonly RegisteredTool[],
  filter: ToolFilter,
): Offer | undefined {
  if (context.options.toolChoice === 'none') return undefined;
  const clientTools = context.options.tools ?? [];
  const clientNames = new Set(clientTools.map((tool) => tool.name));
  const offered: string[] = [];
  const shadowed: string[] = [];
  const tools: ToolDefinition[] = [...clientTools];
  for (const tool of registered) {
    if (!filter.allows(tool.name)) continue;
    if (clientNames.has(tool.name)) {
      shadowed.push(tool.name);
      continue;
    }
    offered.push(tool.name);
    tools.push({ name: tool.name, description: tool.description, parameters: tool.parameters });
  }
  if (offered.length === 0 && shadowed.length === 0) return undefined;
  return { tools, offered, shadowed };
}

/** The server tools `extend` offered in this request (none when it offered none). */
export function offeredTools(context: ChatContext): ReadonlySet<string> {
  const value = context.metadata[OFFERED_KEY];
  return new Set(Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : []);
}
