/**
 * Zod error options for a required request parameter: OpenAI's wording ("missing required
 * parameter 'messages'") when it is absent, zod's own message when it has the wrong type.
 *
 * @example
 * ```ts
 * z.strictObject({ model: z.string(required('model')) });
 * ```
 */
export function required(name: string) {
  return {
    error: (issue: { readonly input?: unknown }) =>
      issue.input === undefined ? `missing required parameter '${name}'` : undefined,
  };
}
