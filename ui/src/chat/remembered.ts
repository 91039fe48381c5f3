/**
 * Small choices the chat page keeps in this browser (localStorage): the model picked last.
 * Storage may be refused (private mode, policies): the choice then lasts for the page only.
 *
 * @example
 * ```ts
 * remember('model', 'ollama/llama3.2');
 * recall('model'); // 'ollama/llama3.2'
 * ```
 */
const PREFIX = 'plugboard.chat.';

export function recall(key: string): string | undefined {
  try {
    return localStorage.getItem(PREFIX + key) ?? undefined;
  } catch {
    return undefined;
  }
}

export function remember(key: string, value: string): void {
  try {
    localStorage.setItem(PREFIX + key, value);
  } catch {
    // Not kept: the choice still holds for this page.
  }
}
