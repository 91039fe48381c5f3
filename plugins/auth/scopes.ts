import type { ChatContext } from '../../src/index.ts';

/**
 * What a credential may do. `documents` is writing to what plugins keep for everyone (RAG's
 * document uploads); `admin` guards the admin API (see README.md, "The admin scope").
 */
export const SCOPES = ['chat', 'embeddings', 'models', 'documents', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * True for one of {@link SCOPES}.
 *
 * @example
 * ```ts
 * isScope('chat'); // true
 * isScope('openid'); // false
 * ```
 */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/**
 * The scope a request needs, from its operation: chat and generate need `chat`; embeddings
 * `embeddings`; the model list, one model's facts, and Ollama's load requests (a chat or
 * generate without messages, which only loads the model) need `models`; a plugin's endpoint
 * the scope it declares (`admin` when it is none of {@link SCOPES}).
 *
 * @example
 * ```ts
 * requiredScope(context); // 'chat' for POST /v1/chat/completions
 * ```
 */
export function requiredScope(
  context: Pick<ChatContext, 'operation' | 'messages'> & Partial<Pick<ChatContext, 'metadata'>>,
): Scope {
  switch (context.operation) {
    case 'chat':
    case 'generate':
      // The OpenAI API refuses an empty `messages`, so only Ollama's load requests come here empty.
      return context.messages.length === 0 ? 'models' : 'chat';
    case 'embeddings':
      return 'embeddings';
    case 'models.list':
    case 'models.show':
      return 'models';
    case 'admin':
      return 'admin';
    case 'endpoint': {
      // A plugin's endpoint names the access it needs; one this plugin does not know is for
      // admins only, so a new endpoint is never open to every key by mistake.
      const scope = (context.metadata?.endpoint as { scope?: unknown } | undefined)?.scope;
      return typeof scope === 'string' && isScope(scope) ? scope : 'admin';
    }
  }
}

/**
 * A matcher for a model allow-list: exact names, or globs where `*` stands for any run of
 * characters (`llama*`, `*:7b`, `*`). Names are compared as the client sent them,
 * backend prefix included (`ollama/llama3.2`): list prefixed names too if clients use them.
 *
 * @example
 * ```ts
 * const allowed = modelMatcher(['llama*', 'qwen2.5:7b']);
 * allowed('llama3.2'); // true
 * allowed('mistral'); // false
 * ```
 */
export function modelMatcher(patterns: readonly string[]): (model: string) => boolean {
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*')));
  const globs = patterns.filter((pattern) => pattern.includes('*')).map(globToRegExp);
  return (model) => exact.has(model) || globs.some((glob) => glob.test(model));
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}
