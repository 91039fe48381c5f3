/**
 * A backend that answers by echoing the user, word by word when streaming.
 * It shows the BackendProvider interface without any model; real backends come later.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createMessage, defineBackend, lastUserMessage } from '../../src/index.ts';

export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0', description: 'Echoes the last user message' },
  chat(context, call) {
    const text = `You said: ${lastUserMessage(context)?.content ?? '(nothing)'}`;
    if (!context.stream) return { message: createMessage({ role: 'assistant', content: text }), finishReason: 'stop' };
    return (async function* () {
      for (const word of text.split(/(?<= )/)) {
        await sleep(20, undefined, { signal: call.signal });
        yield { content: word };
      }
      yield { finishReason: 'stop' as const };
    })();
  },
  listModels: () => [{ id: 'echo' }],
});
