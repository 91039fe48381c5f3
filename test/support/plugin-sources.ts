import { fileURLToPath } from 'node:url';

/** Plugboard's public API, as plugin files written by tests import it. */
export const PLUGBOARD_SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** Source of a backend plugin `echo` that answers with the last user message (not streamed). */
export const ECHO_BACKEND_SOURCE = `
import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat: (context) => ({
    message: createMessage({ role: 'assistant', content: lastUserMessage(context)?.content ?? '' }),
    finishReason: 'stop',
  }),
  listModels: () => [{ id: 'echo' }],
});
`;
