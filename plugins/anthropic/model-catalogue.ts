/**
 * The models the Anthropic Models API lists, kept for a while: listModels reports them,
 * and `thinking: auto` reads from them how each model wants to be asked to think.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { ModelInfo as AnthropicModelInfo } from '@anthropic-ai/sdk/resources/models';
import type { ModelInfo } from '../../src/index.ts';
import type { ThinkingType } from './request-mapping.ts';

/** Options of one Models API call. */
export interface ListOptions {
  readonly signal?: AbortSignal;
  readonly timeout?: number;
}

/** How long a fetched list answers capability questions before it is fetched again. */
const FRESH_MS = 10 * 60_000;
/** How long after a failed fetch capability questions answer "unknown" without asking again. */
const RETRY_MS = 60_000;

export class ModelCatalogue {
  readonly #client: Anthropic;
  #models: ReadonlyMap<string, AnthropicModelInfo> | undefined;
  #fetchedAt = 0;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(client: Anthropic) {
    this.#client = client;
  }

  /** Fetches every page of the Models API's list (active and deprecated models) and keeps it. */
  async fetch(options: ListOptions = {}): Promise<readonly AnthropicModelInfo[]> {
    const models: AnthropicModelInfo[] = [];
    for await (const model of this.#client.models.list({ limit: 1000 }, { ...options, maxRetries: 0 })) {
      models.push(model);
    }
    this.#models = new Map(models.map((model) => [model.id, model]));
    this.#fetchedAt = Date.now();
    return models;
  }

  /**
   * How `model` wants thinking asked for, by its capabilities: `adaptive` when it takes it,
   * else `enabled`; `null` when the model cannot think; undefined when its capabilities
   * are unknown (the Models API failed, or does not describe the model).
   */
  async thinkingTypeFor(model: string, options: ListOptions): Promise<ThinkingType | null | undefined> {
    const now = Date.now();
    if ((this.#models === undefined || now - this.#fetchedAt > FRESH_MS) && now - this.#failedAt > RETRY_MS) {
      try {
        await this.fetch(options);
      } catch {
        this.#failedAt = now; // a list fetched earlier, if any, still answers
      }
    }
    const thinking = this.#models?.get(model)?.capabilities?.thinking;
    if (thinking == null) return undefined;
    if (thinking.types?.adaptive?.supported) return 'adaptive';
    if (thinking.types?.enabled?.supported) return 'enabled';
    return thinking.supported === false ? null : undefined;
  }
}

/** A Models API entry as Plugboard's ModelInfo, its facts in `details`. */
export function toModelInfo(model: AnthropicModelInfo): ModelInfo {
  const details: Record<string, unknown> = {
    display_name: model.display_name,
    created_at: model.created_at,
  };
  if (model.lifecycle !== undefined) details.lifecycle = model.lifecycle;
  if (model.max_input_tokens != null) details.context_length = model.max_input_tokens;
  if (model.max_tokens != null) details.max_output_tokens = model.max_tokens;
  return { id: model.id, details };
}
