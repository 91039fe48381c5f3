import type { ChatContext } from '../../src/index.ts';

/**
 * What a credential may do. `admin` guards no client route today: it is there for the admin API
 * (see README.md, "The admin scope"), so keys can carry it before that is wired.
 */
export const SCOPES = ['chat', 'embeddings', 'models', 'admin'] as const;
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
 * generate without messages, which only loads the model) need `models`.
 *
 * @example
 * ```ts
 * requiredScope(context); // 'chat' for POST /v1/chat/completions
 * ```
 */
export function requiredScope(context: Pick<ChatContext, 'operation' | 'messages'>): Scope {
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
