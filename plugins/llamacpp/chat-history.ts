import type { ChatHistoryItem } from 'node-llama-cpp';
import type { Message } from '../../src/index.ts';

/**
 * Plugboard messages as node-llama-cpp chat history, which the model's chat wrapper turns into
 * its prompt. System, user and assistant messages map one to one (an assistant's `thinking` is
 * left out, as chat templates do). The backend does not offer tools to the model, but a
 * conversation may carry tool traffic from elsewhere: an assistant's tool calls are appended
 * to its text and a tool result becomes a user message, both as plain text, so the model
 * still sees what happened.
 */
export function toChatHistory(messages: readonly Message[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        history.push({ type: 'system', text: message.content });
        break;
      case 'user':
        history.push({ type: 'user', text: message.content });
        break;
      case 'assistant': {
        const calls = (message.toolCalls ?? []).map((call) => `[tool call ${call.name}(${call.arguments})]`);
        const text = [message.content, ...calls].filter((part) => part !== '').join('\n');
        history.push({ type: 'model', response: [text] });
        break;
      }
      case 'tool': {
        const source = message.name ?? message.toolCallId;
        history.push({ type: 'user', text: `[tool result${source ? ` of ${source}` : ''}]\n${message.content}` });
        break;
      }
    }
  }
  return history;
}
