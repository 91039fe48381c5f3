import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { formatIssues, type Message, messageSchema } from './message.ts';

/** A function the model may call, described by a JSON Schema of its parameters. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** How the reply should be formatted. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json' }
  | { readonly type: 'json_schema'; readonly name?: string; readonly schema: Readonly<Record<string, unknown>> };

/** Which tool the model should call: any (`auto`), none, at least one (`required`), or a named one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { readonly name: string };

/** Sampling and output options, mapped by each backend to its own API. */
export interface GenerationOptions {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
  readonly seed?: number;
  readonly responseFormat?: ResponseFormat;
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  /** Ask thinking models to return their reasoning separately. */
  readonly think?: boolean;
  /** How long the backend should keep the model loaded (Ollama's `keep_alive`). */
  readonly keepAlive?: string | number;
  /** Backend-specific options passed through untouched (e.g. Ollama `options`). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Who is asking, as established by an authentication middleware. */
export interface Principal {
  readonly id: string;
  readonly roles?: readonly string[];
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/**
 * What the transport knows about the caller. The core never interprets it; middleware
 * such as auth or rate limiting read it. Header names are lower-case.
 */
export interface ClientInfo {
  readonly address?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What a client asked for. Every client-facing operation passes request middleware and the
 * `requestStart` / `requestEnd` hooks with its name here, so that authentication, rate
 * limits and logging cover all of them:
 * - `chat`, `generate`: a conversation (OpenAI chat completions, Ollama chat and generate);
 * - `embeddings`: vectors for texts — `messages` holds one user message per input, and what
 *   is embedded is their content after middleware (a redacting middleware redacts it);
 * - `models.list`, `models.show`: the model catalogue (`model` names the model shown);
 * - `admin`: a request to the admin API that did not carry the admin token — an authentication
 *   middleware may admit it by giving it a principal with the `admin` role (no messages);
 * - `endpoint`: a request to an HTTP endpoint a plugin adds (conversation memory's API, RAG's
 *   uploads): `metadata.endpoint` says `{ plugin, method, route, scope }` — the scope is the
 *   access it needs, for an authentication middleware to check (no messages).
 */
export const OPERATIONS = [
  'chat',
  'generate',
  'embeddings',
  'models.list',
  'models.show',
  'admin',
  'endpoint',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * Everything one chat request carries through the plugins. Immutable: plugins return
 * changed copies made with {@link updateContext} or {@link appendMessages}.
 */
export interface ChatContext {
  /** Unique per request; present in every log line and hook payload. */
  readonly requestId: string;
  /** What the client asked for (`chat` unless said otherwise); see {@link OPERATIONS}. */
  readonly operation: Operation;
  readonly conversationId?: string;
  readonly messages: readonly Message[];
  /** Model name as the caller gave it; may carry a backend prefix (`ollama/llama3.2`). */
  readonly model?: string;
  /** Name of the backend provider plugin to use; the manager's default when absent. */
  readonly backend?: string;
  readonly options: GenerationOptions;
  /** Whether the caller wants the reply streamed. */
  readonly stream: boolean;
  readonly principal?: Principal;
  readonly client?: ClientInfo;
  /** Free-form data plugins pass along to later plugins of the same request. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

const recordSchema = z.record(z.string(), z.unknown());

const optionsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  topK: z.number().int().min(0).optional(),
  maxTokens: z.number().int().positive().optional(),
  stop: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  responseFormat: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('text') }),
      z.strictObject({ type: z.literal('json') }),
      z.strictObject({ type: z.literal('json_schema'), name: z.string().optional(), schema: recordSchema }),
    ])
    .optional(),
  tools: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        description: z.string().optional(),
        parameters: recordSchema.optional(),
      }),
    )
    .optional(),
  toolChoice: z.union([z.enum(['auto', 'none', 'required']), z.strictObject({ name: z.string().min(1) })]).optional(),
  think: z.boolean().optional(),
  keepAlive: z.union([z.string(), z.number()]).optional(),
  extra: recordSchema.optional(),
});

/** The runtime schema of a ChatContext; strict, so misspelt keys are reported. */
export const chatContextSchema = z.strictObject({
  requestId: z.string().min(1),
  operation: z.enum(OPERATIONS).default('chat'),
  conversationId: z.string().optional(),
  messages: z.array(messageSchema),
  model: z.string().optional(),
  backend: z.string().optional(),
  options: optionsSchema,
  stream: z.boolean(),
  principal: z
    .strictObject({ id: z.string(), roles: z.array(z.string()).optional(), attributes: recordSchema.optional() })
    .optional(),
  client: z
    .strictObject({ address: z.string().optional(), headers: z.record(z.string(), z.string()).optional() })
    .optional(),
  metadata: recordSchema,
});

/** Input of {@link createChatContext}: only `messages` is required. */
export type ChatContextInput = Omit<
  z.input<typeof chatContextSchema>,
  'requestId' | 'operation' | 'options' | 'stream' | 'metadata'
> & {
  requestId?: string;
  operation?: Operation;
  options?: z.input<typeof optionsSchema>;
  stream?: boolean;
  metadata?: Record<string, unknown>;
};

/**
 * Validates, completes (request id, defaults) and freezes a chat context.
 *
 * @example
 * ```ts
 * const context = createChatContext({
 *   model: 'llama3.2',
 *   messages: [{ role: 'user', content: 'Hello' }],
 * });
 * ```
 * @throws PlugboardError `REQUEST_INVALID` naming each invalid field.
 */
export function createChatContext(input: ChatContextInput): ChatContext {
  return parseContext({
    ...input,
    requestId: input.requestId ?? randomUUID(),
    options: input.options ?? {},
    stream: input.stream ?? false,
    metadata: input.metadata ?? {},
  });
}

/**
 * {@link createChatContext} without the validation, for input that a stricter schema has
 * already validated: the OpenAI API's request schema admits only what the core accepts, and
 * validating the mapped context again cost ~10–30 µs a request. Completes and freezes it as
 * createChatContext does (a property test holds the two equal over generated requests).
 * Not for plugins: a context a plugin builds is always validated.
 */
export function createPrevalidatedChatContext(input: ChatContextInput): ChatContext {
  return deepFreeze({
    operation: 'chat',
    ...input,
    requestId: input.requestId ?? randomUUID(),
    options: input.options ?? {},
    stream: input.stream ?? false,
    metadata: input.metadata ?? {},
  }) as ChatContext;
}

/**
 * A copy of `context` with `patch` applied (validated and frozen).
 *
 * @example
 * ```ts
 * extend: (context) => updateContext(context, { metadata: { ...context.metadata, retrieved: 3 } }),
 * ```
 */
export function updateContext(context: ChatContext, patch: Partial<ChatContext>): ChatContext {
  return parseContext({ ...context, ...patch });
}

/**
 * A copy of `context` with messages added: at the start for `system` messages placed by
 * `position: 'start'`, otherwise at the end.
 *
 * @example
 * ```ts
 * extend: (context) =>
 *   appendMessages(context, [createMessage({ role: 'system', content: 'Answer briefly.' })], { position: 'start' }),
 * ```
 */
export function appendMessages(
  context: ChatContext,
  messages: readonly Message[],
  options: { position?: 'start' | 'end' } = {},
): ChatContext {
  const combined =
    options.position === 'start' ? [...messages, ...context.messages] : [...context.messages, ...messages];
  return updateContext(context, { messages: combined });
}

/** The last message with role `user`, if any. */
export function lastUserMessage(context: ChatContext): Message | undefined {
  for (let index = context.messages.length - 1; index >= 0; index--) {
    const message = context.messages[index];
    if (message?.role === 'user') return message;
  }
  return undefined;
}

function parseContext(value: unknown): ChatContext {
  const parsed = chatContextSchema.safeParse(value);
  if (!parsed.success) {
    throw new PlugboardError('REQUEST_INVALID', `Invalid chat context: ${formatIssues(parsed.error)}`, {
      details: { issues: parsed.error.issues },
    });
  }
  return deepFreeze(parsed.data as ChatContext);
}
