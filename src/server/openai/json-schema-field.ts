import { z } from 'zod';

/** Deepest nesting accepted in a client-supplied JSON Schema (real schemas stay far below). */
export const MAX_SCHEMA_DEPTH = 64;

/**
 * A JSON object field carrying a JSON Schema (`tools[].function.parameters`,
 * `response_format.json_schema.schema`), limited to {@link MAX_SCHEMA_DEPTH} levels of
 * nesting. Why: the core walks contexts recursively (freezing, validation), so a body of
 * 100 000 nested objects would overflow the stack and answer 500; this makes it a 400.
 *
 * @example
 * ```ts
 * z.strictObject({ parameters: jsonSchemaField().nullish() });
 * ```
 */
export function jsonSchemaField() {
  return z.record(z.string(), z.unknown()).refine((value) => depthOf(value) <= MAX_SCHEMA_DEPTH, {
    error: `the schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`,
  });
}

/** Nesting depth of a JSON value, without recursion (so the check itself cannot overflow). */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_SCHEMA_DEPTH) return deepest;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}
