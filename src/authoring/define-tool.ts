import { z } from 'zod';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { formatIssues } from '../core/model/message.ts';
import type { ToolInvocation, ToolOutput, ToolSpec } from '../core/tools/tool-registry.ts';

/** What {@link defineTool} takes. */
export interface ToolDefinitionInput<Input extends z.ZodType> {
  /** 1–64 letters, digits, `_` or `-`. */
  readonly name: string;
  /** What the tool does and when to use it: the model reads it. */
  readonly description: string;
  /** The arguments: an object schema. Its `.describe()` texts reach the model. */
  readonly input: Input;
  /** Runs with the checked arguments. */
  run(input: z.output<Input>, invocation: ToolInvocation): ToolOutput | Promise<ToolOutput>;
  /** Longest the tool may run, in ms; the tool loop's default when absent. */
  readonly timeoutMs?: number;
}

/**
 * A tool whose arguments are described and checked by a zod schema: the model sees its JSON
 * Schema, and `run` gets only arguments the schema accepts (others answer the model with
 * `TOOL_ARGUMENTS_INVALID` naming each bad field, so it can correct itself).
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: 'weather',
 *   description: 'Current weather for a city',
 *   input: z.object({ city: z.string().describe('City name, e.g. "Lisbon"'), days: z.number().int().min(1).max(7).default(1) }),
 *   run: async ({ city, days }, { signal }) => forecast(city, days, signal),
 * });
 * call.services.get(toolRegistryRef).register('weather-plugin', [weather]);
 * ```
 */
export function defineTool<Input extends z.ZodType>(definition: ToolDefinitionInput<Input>): ToolSpec {
  const { name, description, input, run, timeoutMs } = definition;
  return Object.freeze({
    name,
    description,
    parameters: toolParameters(input),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    run(args: unknown, invocation: ToolInvocation) {
      const parsed = input.safeParse(args ?? {});
      if (!parsed.success) {
        throw new PlugboardError(
          'TOOL_ARGUMENTS_INVALID',
          `Invalid arguments for tool "${name}": ${formatIssues(parsed.error)}`,
        );
      }
      return run(parsed.data, invocation);
    },
  });
}

/**
 * The JSON Schema of a zod schema as model APIs take it: the input shape (defaults make a key
 * optional), without `$schema`, and without the ±2^53 bounds zod 4 writes for `.int()` (noise
 * to a model, and some servers refuse numbers that large).
 *
 * @example
 * ```ts
 * toolParameters(z.object({ n: z.number().int() })); // { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }
 * ```
 */
export function toolParameters(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return stripSafeIntegerBounds(json) as Record<string, unknown>;
}

function stripSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSafeIntegerBounds);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const isBound = key === 'minimum' || key === 'maximum' || key === 'exclusiveMinimum' || key === 'exclusiveMaximum';
    if (isBound && (item === Number.MAX_SAFE_INTEGER || item === Number.MIN_SAFE_INTEGER)) continue;
    copy[key] = stripSafeIntegerBounds(item);
  }
  return copy;
}
