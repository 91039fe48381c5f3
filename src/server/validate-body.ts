import type { z } from 'zod';
import { PlugboardError } from '../core/errors/plugboard-error.ts';

/**
 * Validates a request body against a zod schema. On failure: `REQUEST_INVALID` (400) whose
 * message names every offending field (`messages.0.role: Invalid option …`) and whose
 * `details.param` is the first one, as OpenAI's error object reports it.
 *
 * @example
 * ```ts
 * const body = parseBody(chatCompletionSchema, request.body);
 * ```
 */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new PlugboardError('REQUEST_INVALID', 'The request body must be a JSON object', {
      details: { param: null },
    });
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const fieldOf = (path: readonly PropertyKey[]): string =>
    path.length === 0 ? '(body)' : path.map((part) => String(part)).join('.');
  const message = issues
    .slice(0, 5)
    .map((issue) => {
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
      if (unknownKeys !== undefined) {
        const where = issue.path.length === 0 ? '' : ` in ${fieldOf(issue.path)}`;
        return `unknown field${unknownKeys.length > 1 ? 's' : ''}${where}: ${unknownKeys.join(', ')}`;
      }
      return `${fieldOf(issue.path)}: ${issue.message}`;
    })
    .join('; ');
  const first = issues[0];
  const param =
    first === undefined
      ? null
      : first.code === 'unrecognized_keys'
        ? [...first.path.map(String), first.keys[0]].join('.')
        : fieldOf(first.path);
  throw new PlugboardError('REQUEST_INVALID', `Invalid request: ${message}${issues.length > 5 ? '; …' : ''}`, {
    details: { param, issues: issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) },
  });
}
