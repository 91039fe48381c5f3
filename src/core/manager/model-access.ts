import { randomUUID } from 'node:crypto';
import { backendNotFound } from '../errors/core-errors.ts';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { type ChatContextInput, createChatContext } from '../model/context.ts';
import { createMessage, type Message, type ToolCall } from '../model/message.ts';
import type { ChatChunk, FinishReason, Usage } from '../model/reply.ts';
import type { ModelAccess } from '../models/model-access.ts';
import type { ListedModel, ModelRouter } from '../routing/model-router.ts';
import type { BackendHandle } from './backend-handles.ts';

/** What model access needs of the manager. */
export interface ModelAccessBackends {
  readonly router: ModelRouter;
  readonly defaultBackend: string | undefined;
  readonly backendNames: readonly string[];
  getBackendProvider(name: string): BackendHandle | undefined;
}

/**
 * The manager's {@link ModelAccess}: a model name is routed as a client's would be (backend
 * prefix, else the backends' model lists), then the backend's guarded handle is called — its
 * breaker, timeout and metrics apply, but no middleware, processor or hook runs.
 */
export function createModelAccess(backends: ModelAccessBackends): ModelAccess {
  async function target(model: string | undefined): Promise<{ handle: BackendHandle; model: string | undefined }> {
    const routed =
      model === undefined
        ? { backend: backends.defaultBackend, model: undefined }
        : await backends.router.resolve(model);
    const handle = routed.backend === undefined ? undefined : backends.getBackendProvider(routed.backend);
    if (handle === undefined) throw backendNotFound(routed.backend, backends.backendNames);
    return { handle, model: routed.model };
  }

  async function describe(model: string | undefined): Promise<ListedModel | undefined> {
    return model === undefined
      ? (await backends.router.list()).models.find((entry) => entry.backend === backends.defaultBackend)
      : await backends.router.find(model);
  }

  return {
    async complete(request) {
      const { handle, model } = await target(request.model);
      const context = createChatContext({
        requestId: `model-access-${randomUUID()}`,
        // Validated here: a plugin's messages are checked like a client's.
        messages: request.messages as ChatContextInput['messages'],
        ...(model === undefined ? {} : { model }),
        backend: handle.name,
        options: (request.options ?? {}) as ChatContextInput['options'],
        stream: false,
      });
      const result = await handle.chat(context, request.signal ? { signal: request.signal } : {});
      if (!result.ok) throw result.error;
      const reply = result.value;
      if (!(Symbol.asyncIterator in reply)) {
        return {
          message: reply.message,
          ...(reply.usage ? { usage: reply.usage } : {}),
          ...(reply.finishReason ? { finishReason: reply.finishReason } : {}),
          backend: handle.name,
          model,
        };
      }
      // A backend may stream although it was not asked to: gather the chunks into one reply.
      return { ...(await gather(reply)), backend: handle.name, model };
    },

    async embed(request) {
      const { handle, model } = await target(request.model);
      const result = await handle.embed(
        { model: model ?? '', input: [...request.input] },
        request.signal ? { signal: request.signal } : {},
      );
      if (!result.ok) throw result.error;
      const { embeddings, promptTokens } = result.value;
      if (embeddings.length !== request.input.length) {
        throw new PlugboardError(
          'BACKEND_FAILED',
          `Backend "${handle.name}" returned ${embeddings.length} embeddings for ${request.input.length} inputs`,
          { plugin: handle.name, hook: 'embed' },
        );
      }
      return {
        embeddings,
        backend: handle.name,
        model: result.value.model,
        ...(promptTokens === undefined ? {} : { promptTokens }),
      };
    },

    describe,

    async contextLength(model) {
      const details = (await describe(model))?.details ?? {};
      const length = details.context_length ?? details.contextLength;
      return typeof length === 'number' && Number.isInteger(length) && length > 0 ? length : undefined;
    },
  };
}

async function gather(
  chunks: AsyncIterable<ChatChunk>,
): Promise<{ message: Message; usage?: Usage; finishReason?: FinishReason }> {
  let content = '';
  let thinking = '';
  const toolCalls: ToolCall[] = [];
  let usage: Usage | undefined;
  let finishReason: FinishReason | undefined;
  for await (const chunk of chunks) {
    if (chunk.content) content += chunk.content;
    if (chunk.thinking) thinking += chunk.thinking;
    if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
    if (chunk.usage) usage = chunk.usage;
    if (chunk.finishReason) finishReason = chunk.finishReason;
  }
  const message = createMessage({
    role: 'assistant',
    content,
    ...(thinking ? { thinking } : {}),
    ...(toolCalls.length ? { toolCalls } : {}),
  });
  return { message, ...(usage ? { usage } : {}), ...(finishReason ? { finishReason } : {}) };
}
