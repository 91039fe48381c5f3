import type { ModelResponse, Ollama } from 'ollama';

/** How many `/api/show` requests run at once when a list has models not seen before. */
const CONCURRENCY = 4;

/**
 * What each model can do (`completion`, `tools`, `vision`, `embedding`, `thinking`), from
 * Ollama's `/api/show` — `/api/tags` does not say. Kept by name and digest, so a model is
 * asked about once, and again only when it changes (pulled anew). A model Ollama cannot
 * describe (an old server, an error) has no entry: what it can do is then unknown, and the
 * tools plugin, for one, still offers it tools.
 *
 * Why: a model without `tools` refuses a request that offers tools, so the tools plugin
 * offers none to it — the chat is answered instead of refused.
 *
 * @example
 * ```ts
 * const capabilities = new ModelCapabilities();
 * const known = await capabilities.of(client, models); // Map { 'llama3.2:latest' => ['completion', 'tools'] }
 * ```
 */
export class ModelCapabilities {
  readonly #known = new Map<string, readonly string[]>();

  async of(client: Ollama, models: readonly ModelResponse[]): Promise<ReadonlyMap<string, readonly string[]>> {
    const unknown = models.filter((model) => !this.#known.has(keyOf(model)));
    for (let start = 0; start < unknown.length; start += CONCURRENCY) {
      await Promise.all(
        unknown.slice(start, start + CONCURRENCY).map(async (model) => {
          try {
            const shown = await client.show({ model: model.name || model.model });
            if (Array.isArray(shown.capabilities)) {
              this.#known.set(
                keyOf(model),
                shown.capabilities.filter((item) => typeof item === 'string'),
              );
            }
          } catch {
            // Unknown: asked again with the next list.
          }
        }),
      );
    }
    const result = new Map<string, readonly string[]>();
    for (const model of models) {
      const known = this.#known.get(keyOf(model));
      if (known !== undefined) result.set(model.name || model.model, known);
    }
    return result;
  }
}

function keyOf(model: ModelResponse): string {
  return `${model.name || model.model}@${model.digest}`;
}
