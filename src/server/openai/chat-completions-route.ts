import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../server-context.ts';
import { parseBody } from '../validate-body.ts';
import { CompletionChunkEncoder } from './completion-chunks.ts';
import { unixSeconds } from './completion-parts.ts';
import { type CompletionIdentity, toCompletionBody } from './completion-response.ts';
import { chatCompletionRequestSchema } from './request-schema.ts';
import { toChatContext } from './to-chat-context.ts';

/**
 * `POST /v1/chat/completions`: validates the body, runs the plugin pipeline (middleware
 * first, then the model is routed to a backend) (tied to the HTTP request by the ChatRunner: a disconnect or the request
 * timeout aborts it) and answers as a `chat.completion`, or as an SSE stream of
 * `chat.completion.chunk`s when `stream` is true. Errors are thrown as PlugboardErrors; the
 * server's error handler answers them in OpenAI's error format.
 */
export function registerChatCompletionsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post('/chat/completions', async (request, reply) => {
    const body = parseBody(chatCompletionRequestSchema, request.body);
    const chatContext = toChatContext(body, request);
    const identity: CompletionIdentity = {
      id: `chatcmpl-${request.id}`,
      created: unixSeconds(),
      model: body.model,
    };

    if (!chatContext.stream) {
      return toCompletionBody(await context.chat.complete(reply, chatContext, 'openai'), identity);
    }

    const includeUsage = body.stream_options?.include_usage === true;
    await context.chat.stream(
      reply,
      chatContext,
      'openai',
      new CompletionChunkEncoder(identity, { includeUsage }, request.id),
    );
    return reply;
  });
}
