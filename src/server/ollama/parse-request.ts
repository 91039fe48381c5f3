import type { z } from 'zod';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { parseBody } from '../validate-body.ts';

/**
 * How deeply a request body may nest. Generous for JSON schemas in `format` and `tools`, yet
 * far below what would overflow the stack of the recursive code downstream (zod, deep
 * freezing of the chat context): a hostile `[[[[…]]]]` gets a 400, not a 500.
 */
export const MAX_BODY_DEPTH = 100;

/**
 * Validates an Ollama request body: nesting depth first, then the zod schema.
 *
 * @throws PlugboardError `REQUEST_INVALID` (400) naming the offending field.
 * @example
 * ```ts
 * const body = parseOllamaBody(chatRequestSchema, request.body);
 * ```
 */
export function parseOllamaBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  assertDepth(body, MAX_BODY_DEPTH);
  return parseBody(schema, body);
}

/** Iterative on purpose: a recursive walk would itself overflow on the bodies it guards against. */
function assertDepth(body: unknown, max: number): void {
  const stack: [unknown, number][] = [[body, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) {
      throw new PlugboardError('REQUEST_INVALID', `The request body nests deeper than ${max} levels`, {
        details: { param: null },
      });
    }
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}
