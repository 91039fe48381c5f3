import { type BackendProvider, defineBackend } from '../../src/index.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';

/**
 * The scripted backend (named `scripted`, with `models`), recording in `reached` every call that
 * gets to it: tests of middleware that must refuse a request before any model lookup.
 *
 * @example
 * ```ts
 * const { backend, reached } = countedBackend(['scripted-model', 'embedder']);
 * // … a refused request …
 * assert.deepEqual(reached, []);
 * ```
 */
export function countedBackend(models: readonly string[]): { backend: BackendProvider; reached: string[] } {
  const scripted = createScriptedBackend({ models: [...models] });
  const reached: string[] = [];
  const backend = defineBackend({
    metadata: { name: 'scripted', version: '1.0.0' },
    chat: (context, call) => {
      reached.push('chat');
      return scripted.chat(context, call);
    },
    listModels: (call) => {
      reached.push('listModels');
      return scripted.listModels(call);
    },
    embed: (request, call) => {
      reached.push('embed');
      return scripted.embed!(request, call);
    },
  });
  return { backend, reached };
}
