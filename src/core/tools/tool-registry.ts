import { PlugboardError } from '../errors/plugboard-error.ts';
import type { Principal } from '../model/context.ts';
import { createServiceRef } from '../services/service-ref.ts';
import type { JsonValue } from '../stores/json.ts';

/**
 * What a tool's `run` gets besides its arguments.
 *
 * @example
 * ```ts
 * run: async ({ city }, invocation) => fetchWeather(city, { signal: invocation.signal })
 * ```
 */
export interface ToolInvocation {
  /** The request whose model asked for the call. */
  readonly requestId: string;
  /** Who is asking (from the authentication middleware), when known. */
  readonly principal?: Principal;
  /** Aborted when the request is cancelled or the tool's timeout passes: pass it to any I/O. */
  readonly signal: AbortSignal;
}

/**
 * A tool's answer: text, or JSON (sent to the model as its JSON text). Throw a PlugboardError
 * whose message the model may read (a refused query, a bad argument) to report a failure:
 * the tool loop gives the model that message, never an unexpected exception's text.
 */
export type ToolOutput = string | JsonValue;

/**
 * A function the model may call, with the JSON Schema of its arguments. Build one with
 * `defineTool` (arguments described and checked by a zod schema) rather than by hand.
 *
 * @example
 * ```ts
 * const clock: ToolSpec = {
 *   name: 'current_time',
 *   description: 'The current time as an ISO 8601 string',
 *   parameters: { type: 'object', properties: {} },
 *   run: () => new Date().toISOString(),
 * };
 * ```
 */
export interface ToolSpec {
  /** 1–64 letters, digits, `_` or `-` (what every model API accepts); unique among the registered tools. */
  readonly name: string;
  /** What the tool does and when to use it: the model reads it. */
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Runs the tool. `args` is the parsed arguments object, unchecked: check it (defineTool does). */
  run(args: unknown, invocation: ToolInvocation): ToolOutput | Promise<ToolOutput>;
  /** Longest the tool may run, in ms; the tool loop's default when absent. */
  readonly timeoutMs?: number;
}

/** A tool as the registry holds it: with the plugin (or server) that registered it. */
export interface RegisteredTool extends ToolSpec {
  /** Who registered it (a plugin name, `mcp:<server>` …). */
  readonly owner: string;
}

/**
 * The tools the model may call, registered by the plugins that implement them (the database
 * query tool, web search, the MCP client …) and run by the tool loop (the `tools` extension).
 * One registry per manager: every consumer shares it.
 *
 * @example
 * ```ts
 * metadata: { name: 'weather', version: '1.0.0', consumes: [toolRegistryRef] },
 * initialize(_config, call) {
 *   this.unregister = call.services.get(toolRegistryRef).register('weather', [weatherTool]);
 * },
 * shutdown() { this.unregister?.(); },
 * ```
 */
export interface ToolRegistry {
  /**
   * Registers `owner`'s tools, replacing whatever that owner registered before (so a server
   * whose tool list changed registers the new list). Returns the function that removes them.
   * @throws PlugboardError `TOOL_INVALID` for a malformed tool or a name another owner holds;
   *   nothing is registered then.
   */
  register(owner: string, tools: readonly ToolSpec[]): () => void;
  /** Every registered tool, by name. */
  list(): readonly RegisteredTool[];
  get(name: string): RegisteredTool | undefined;
  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: () => void): () => void;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The in-process {@link ToolRegistry}: the default every consumer of {@link toolRegistryRef}
 * shares when no plugin provides another.
 */
export class MemoryToolRegistry implements ToolRegistry {
  readonly #byOwner = new Map<string, readonly RegisteredTool[]>();
  readonly #byName = new Map<string, RegisteredTool>();
  readonly #listeners = new Set<() => void>();

  register(owner: string, tools: readonly ToolSpec[]): () => void {
    if (typeof owner !== 'string' || owner === '') throw invalidTool('owner must be a non-empty string');
    if (!Array.isArray(tools)) throw invalidTool(`${owner}: tools must be an array`);
    const names = new Set<string>();
    const registered = tools.map((tool, index) => {
      const what = `${owner}: tools[${index}]`;
      if (tool === null || typeof tool !== 'object') throw invalidTool(`${what} must be an object`);
      if (typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
        throw invalidTool(`${what}.name must be 1–64 letters, digits, "_" or "-", got ${JSON.stringify(tool.name)}`);
      }
      if (names.has(tool.name)) throw invalidTool(`${what}: the name "${tool.name}" appears twice`);
      names.add(tool.name);
      const holder = this.#byName.get(tool.name)?.owner;
      if (holder !== undefined && holder !== owner) {
        throw invalidTool(`${what}: the tool name "${tool.name}" is already registered by "${holder}"`);
      }
      if (typeof tool.description !== 'string') throw invalidTool(`${what}.description must be a string`);
      if (tool.parameters === null || typeof tool.parameters !== 'object' || Array.isArray(tool.parameters)) {
        throw invalidTool(`${what}.parameters must be a JSON Schema object`);
      }
      if (typeof tool.run !== 'function') throw invalidTool(`${what}.run must be a function`);
      if (tool.timeoutMs !== undefined && !(Number.isFinite(tool.timeoutMs) && tool.timeoutMs > 0)) {
        throw invalidTool(`${what}.timeoutMs must be a positive number of milliseconds`);
      }
      // Its fields by name, `run` bound: a tool made by a class keeps its methods (a spread copies own fields only).
      return Object.freeze({
        name: tool.name,
        description: tool.description,
        parameters: tool.parameters,
        run: tool.run.bind(tool),
        ...(tool.timeoutMs === undefined ? {} : { timeoutMs: tool.timeoutMs }),
        owner,
      });
    });
    this.#remove(owner);
    this.#byOwner.set(owner, registered);
    for (const tool of registered) this.#byName.set(tool.name, tool);
    this.#changed();
    return () => {
      if (this.#byOwner.get(owner) !== registered) return; // replaced since: not ours to remove
      this.#remove(owner);
      this.#changed();
    };
  }

  list(): readonly RegisteredTool[] {
    return [...this.#byName.values()];
  }

  get(name: string): RegisteredTool | undefined {
    return this.#byName.get(name);
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #remove(owner: string): void {
    for (const tool of this.#byOwner.get(owner) ?? []) this.#byName.delete(tool.name);
    this.#byOwner.delete(owner);
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own: the registration stands for everyone else.
      }
    }
  }
}

/**
 * The tool registry service. Without a provider, every consumer shares one
 * {@link MemoryToolRegistry} of the manager.
 *
 * @example
 * ```ts
 * metadata: { name: 'db_query', version: '1.0.0', consumes: [toolRegistryRef] },
 * ```
 */
export const toolRegistryRef = createServiceRef<ToolRegistry>({
  id: 'plugboard.tools',
  description: 'Tools the model may call, registered by the plugins that implement them',
  members: ['register', 'list', 'get', 'onChange'],
  defaultFactory: () => new MemoryToolRegistry(),
});

function invalidTool(message: string): PlugboardError {
  return new PlugboardError('TOOL_INVALID', message);
}
