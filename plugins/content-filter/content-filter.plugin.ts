import {
  type ChatContext,
  type Logger,
  type Message,
  type MessageProcessor,
  type Middleware,
  type PluginCall,
  type StreamingSupport,
  updateContext,
  updateMessage,
} from '../../src/index.ts';
import type { Outcome } from './actions.ts';
import { type ContentFilterConfig, contentFilterConfigSchema } from './config.ts';
import { blockedError, contentFilterErrors } from './errors.ts';
import { createFilter, type Filter, logFlagged } from './filter.ts';
import { createStreaming } from './streaming.ts';

/** The plugin: a message processor, plus `processRequest` to refuse blocked input with a 4xx. */
export type ContentFilterPlugin = MessageProcessor<ContentFilterConfig> &
  Required<Pick<Middleware<ContentFilterConfig>, 'processRequest'>>;

/** The key of the findings in a message's metadata. */
export const METADATA_KEY = 'content_filter';

/** A stream that passes text as it comes: for a config without output rules. */
const PASS_THROUGH: StreamingSupport = { window: 0, transform: (text) => text };

/**
 * The `content_filter` message processor: finds e-mail addresses, phone numbers, payment
 * cards, IBANs, US SSNs, IP addresses, secrets and API keys, profanity, and the patterns and
 * words of its config, in the user's messages and in the model's replies (streamed or not),
 * and redacts, masks, flags or blocks each category as configured. Fail-closed: if the filter
 * fails, the request is refused rather than passed unchecked.
 *
 * - input: the last user message through `processMessage`; earlier user messages (the history
 *   a client sends again with every request) and embedding inputs through `processRequest`, which
 *   also refuses a message with a `block` category with `content_filter/BLOCKED` (422);
 * - output: the reply through `processMessage`, or `streaming` while it streams.
 *
 * @example
 * ```yaml
 * message_processors:
 *   content_filter:
 *     config:
 *       categories:
 *         card: { action: block, direction: input }
 *         ip: { action: redact }
 *       custom:
 *         - { name: ticket, pattern: "TICKET-\\d{4,}", action: mask }
 * ```
 * ```ts
 * import contentFilter from './plugins/content-filter/content-filter.plugin.ts';
 * const manager = await startManager([backend, [contentFilter, { config: { default_region: 'DE' } }]]);
 * ```
 */
export default function createContentFilter(): ContentFilterPlugin {
  let filter: Filter | undefined;
  let streaming: StreamingSupport | undefined;
  let logger: Logger | undefined;

  const ready = (): Filter => {
    if (filter === undefined) throw new Error('content_filter used before initialize');
    return filter;
  };

  /** The output rules on streamed text (the runtime's windowed stage calls this). */
  const transformOutput = (text: string, context: ChatContext): string => {
    const outcome = ready().run(text, 'output');
    if (outcome.blocked.length > 0) throw blockedError(outcome.blocked, 'output');
    if (logger !== undefined) logFlagged(logger, outcome, 'output', context.requestId);
    return outcome.text;
  };

  return {
    metadata: {
      name: 'content_filter',
      version: '1.0.0',
      description: 'Redacts, masks, flags or blocks PII, secrets, profanity and custom patterns',
      configSchema: contentFilterConfigSchema,
      errors: contentFilterErrors,
      // Passing text unchecked because the filter broke is worse than refusing the request.
      failurePolicy: 'closed',
      // Before other processors, so that none of them sees (or logs) what the filter removes.
      priority: 'HIGH',
    },
    direction: 'both',

    initialize(config, call) {
      filter = createFilter(config.config);
      logger = call.logger;
      streaming = filter.output.empty
        ? PASS_THROUGH
        : createStreaming(filter.output, config.config.window, transformOutput);
    },

    processRequest(context, call) {
      const current = ready();
      if (current.input.empty) return context;
      if (context.operation !== 'chat' && context.operation !== 'generate' && context.operation !== 'embeddings') {
        return context;
      }
      const result = filterRequest(current, context, call);
      if (result.blocked.length > 0) return { decision: 'reject', error: blockedError(result.blocked, 'input') };
      return result.context;
    },

    processMessage(message, context, call) {
      const way = message.role === 'assistant' ? 'output' : 'input';
      const outcome = ready().run(message.content, way);
      // Input blocks are refused by processRequest with a 422 before this runs; here a block
      // means a reply the model must not give (or input another plugin changed since).
      if (outcome.blocked.length > 0) throw blockedError(outcome.blocked, way);
      logFlagged(call.logger, outcome, way, context.requestId);
      return withFindings(message, outcome);
    },

    get streaming() {
      return streaming;
    },
  };
}

/**
 * The input rules on a request's user messages: all of them for embeddings; for a chat every
 * one but the last (which `processMessage` filters), and the last for `block` rules only.
 */
function filterRequest(
  filter: Filter,
  context: ChatContext,
  call: PluginCall,
): { context: ChatContext; blocked: readonly string[] } {
  let last = -1;
  if (context.operation !== 'embeddings') {
    for (let index = context.messages.length - 1; index >= 0; index--) {
      if (context.messages[index]!.role === 'user') {
        last = index;
        break;
      }
    }
  }
  const checksBlocks = [...filter.input.rules.values()].some((rule) => rule.action === 'block');
  const blocked = new Set<string>();
  let messages: Message[] | undefined;
  for (const [index, message] of context.messages.entries()) {
    if (message.role !== 'user' || (index === last && !checksBlocks)) continue;
    const outcome = filter.run(message.content, 'input');
    for (const category of outcome.blocked) blocked.add(category);
    if (index === last || outcome.text === message.content) continue;
    messages ??= [...context.messages];
    messages[index] = withFindings(message, outcome);
  }
  if (blocked.size > 0) {
    call.logger.warn({ request_id: context.requestId, blocked: [...blocked] }, 'content filter refused a message');
  }
  return {
    context: messages === undefined || blocked.size > 0 ? context : updateContext(context, { messages }),
    blocked: [...blocked],
  };
}

/** The message with the filtered text and the findings (categories and counts) in its metadata. */
function withFindings(message: Message, outcome: Outcome): Message {
  if (Object.keys(outcome.counts).length === 0) return message;
  return updateMessage(message, {
    content: outcome.text,
    metadata: { ...message.metadata, [METADATA_KEY]: { findings: outcome.counts } },
  });
}
