import { backendNotFound } from '../errors/core-errors.ts';
import { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatContext } from '../model/context.ts';
import type { ChatOptions } from '../pipeline/chat-pipeline.ts';
import { runOperation } from '../pipeline/operation-pipeline.ts';
import type { PipelineEnv } from '../pipeline/request-run.ts';
import type { EmbeddingResult } from '../plugin/kinds.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import type { BackendHandle } from './backend-handles.ts';

/** Embeddings of a request, with where they came from. */
export interface EmbeddingReply extends EmbeddingResult {
  /** The backend that computed them. */
  readonly backend: string;
}

/** What embedding needs from the manager. */
interface Backends {
  readonly backendNames: readonly string[];
  readonly defaultBackend: string | undefined;
  getBackendProvider(name: string): BackendHandle | undefined;
}

/**
 * The `embeddings` operation: request middleware and hooks (see runOperation), then the
 * contents of `context.messages` — as middleware left them — embedded by the backend that
 * serves `context.model` (the default backend when none is named).
 */
export function embedOperation(
  env: PipelineEnv,
  backends: Backends,
  context: ChatContext,
  options: ChatOptions,
): Promise<EmbeddingReply> {
  const request =
    context.operation === 'embeddings' ? context : deepFreeze({ ...context, operation: 'embeddings' as const });
  return runOperation(
    env,
    request,
    async (admitted, call) => {
      const target =
        admitted.model === undefined
          ? { backend: backends.defaultBackend, model: undefined }
          : await env.router.resolve(admitted.model);
      const backend = target.backend === undefined ? undefined : backends.getBackendProvider(target.backend);
      if (backend === undefined) throw backendNotFound(target.backend, backends.backendNames);
      const input = admitted.messages.map((message) => message.content);
      const result = await backend.embed({ model: target.model ?? '', input }, call.options);
      if (!result.ok) throw result.error;
      if (result.value.embeddings.length !== input.length) {
        throw new PlugboardError(
          'BACKEND_FAILED',
          `Backend "${backend.name}" returned ${result.value.embeddings.length} embeddings for ${input.length} inputs`,
          { plugin: backend.name, hook: 'embed' },
        );
      }
      const promptTokens = result.value.promptTokens;
      return {
        value: { ...result.value, backend: backend.name },
        ...(promptTokens === undefined ? {} : { usage: { promptTokens, completionTokens: 0 } }),
      };
    },
    options,
  );
}
