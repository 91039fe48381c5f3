import { hash } from 'node:crypto';
import type { ChatContext, GenerationOptions, Message } from '../../src/index.ts';

/**
 * Part of every key: a change to what the key covers, or to the entry's format, bumps it, so
 * entries an older version wrote to a shared store are never read as this version's.
 */
export const KEY_VERSION = 'plugboard-cache/1';

/** What of the plugin's config goes into a key. */
export interface KeySettings {
  /** Put the principal's id in the key (`per_principal`). */
  readonly perPrincipal: boolean;
  /** The `context.metadata` keys that change what a backend generates (`key_metadata`). */
  readonly keyMetadata: readonly string[];
}

/**
 * JSON with the keys of every object sorted, so that two requests that differ only in the
 * order of their keys give the same text. Otherwise as `JSON.stringify`: `undefined` members
 * are left out, `undefined` in an array and non-finite numbers are `null`.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, undefined] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Leaves: JSON.stringify quotes strings and turns NaN/Infinity into null; undefined → null.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      text += canonicalJson(value[index]);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  let text = '{';
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined || typeof member === 'function') continue;
    text += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${text}}`;
}

/**
 * Whether the reply to these options is (meant to be) the same every time: temperature 0
 * (greedy decoding), or a fixed `seed` (llama.cpp and Ollama then sample the same tokens;
 * OpenAI calls its seed best effort, and a cache makes it exact). A request that sets neither
 * gets the backend's default temperature, which is above 0 for every first-party backend: it
 * asked for a sample, and answering it from the cache would always give the same one.
 */
export function isDeterministic(options: GenerationOptions): boolean {
  return options.temperature === 0 || options.seed !== undefined;
}

/**
 * What a key hashes: the request as the backend will get it, as one JSON text. Fields whose
 * place is fixed (version, operation, backend, model, principal, each message's parts) are
 * written as positional arrays, which native JSON.stringify writes fast and in a fixed order;
 * the open objects (the options, `extra` within them, the picked metadata) go through
 * {@link canonicalJson}.
 *
 * Left out, because they do not change the reply: `stream` (a streamed and a whole request
 * share entries), `options.keepAlive` (how long Ollama keeps the model loaded),
 * `context.metadata` except the `keyMetadata` keys, `message.metadata` (plugins' notes, not
 * sent to models), the request id, the conversation id and the client. JSON schemas
 * (`tools[].parameters`, `responseFormat.schema`) keep their key order: a model sees them in
 * that order, and OpenAI's structured outputs write an object's keys in the schema's order.
 *
 * @example
 * ```ts
 * keyText(context, { perPrincipal: true, keyMetadata: ['thinkLevel'] });
 * // '["plugboard-cache/1","chat","ollama","llama3.2","alice",[["user","hi",null,null,null,null,null]],"{\"temperature\":0}","{}"]'
 * ```
 */
export function keyText(context: ChatContext, settings: KeySettings): string {
  const { keepAlive: _transportOnly, tools, responseFormat, ...options } = context.options;
  const open: Record<string, unknown> = options;
  if (tools !== undefined) {
    open.tools = tools.map((tool) => ({
      ...tool,
      parameters: tool.parameters === undefined ? undefined : JSON.stringify(tool.parameters),
    }));
  }
  if (responseFormat !== undefined) {
    open.responseFormat =
      responseFormat.type === 'json_schema'
        ? { ...responseFormat, schema: JSON.stringify(responseFormat.schema) }
        : responseFormat;
  }
  let metadata: Record<string, unknown> | undefined;
  for (const name of settings.keyMetadata) {
    const value = context.metadata[name];
    if (value === undefined) continue;
    metadata ??= {};
    metadata[name] = value;
  }
  return JSON.stringify([
    KEY_VERSION,
    context.operation,
    context.backend ?? null,
    context.model ?? null,
    settings.perPrincipal ? (context.principal?.id ?? null) : null,
    context.messages.map(messagePart),
    canonicalJson(open),
    metadata === undefined ? '{}' : canonicalJson(metadata),
  ]);
}

/** The parts of a message a backend sends to the model, in a fixed order. */
function messagePart(message: Message): unknown[] {
  return [
    message.role,
    message.content,
    message.images ?? null,
    message.toolCalls?.map((call) => [call.id, call.name, call.arguments]) ?? null,
    message.toolCallId ?? null,
    message.name ?? null,
    message.thinking ?? null,
  ];
}

/**
 * The cache key of a prepared, routed request: the SHA-256 (hex) of {@link keyText}.
 *
 * @example
 * ```ts
 * cacheKey(context, { perPrincipal: true, keyMetadata: ['thinkLevel'] }); // '3f1c…' (64 hex digits)
 * ```
 */
export function cacheKey(context: ChatContext, settings: KeySettings): string {
  // crypto.hash: one call, without the Hash object createHash builds (~3 µs less a key).
  return hash('sha256', keyText(context, settings), 'hex');
}
