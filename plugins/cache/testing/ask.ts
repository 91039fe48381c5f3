/**
 * Test support: one chat through a manager, whole or streamed, with the response headers
 * plugins set (what the HTTP server would put on its reply).
 */
import type { ChatChunk, ChatContext, ChatResponse, PluginManager } from '../../../src/index.ts';
import { updateContext } from '../../../src/index.ts';
import { chatRequest, collectStream } from '../../../src/testing/index.ts';

/** What one chat gave: the response, its text, its chunks (streamed), and its headers. */
export interface Asked {
  readonly response: ChatResponse;
  readonly text: string;
  readonly chunks: readonly ChatChunk[];
  readonly headers: ReadonlyMap<string, string>;
}

/** A deterministic request (temperature 0) with `content` as its user message. */
export function request(content: string, overrides: Parameters<typeof chatRequest>[1] = {}): ChatContext {
  return chatRequest(content, { ...overrides, options: { temperature: 0, ...overrides.options } });
}

/** Sends `context` (streamed when `stream`), collecting the response headers plugins set. */
export async function ask(manager: PluginManager, context: ChatContext, stream = false): Promise<Asked> {
  const headers = new Map<string, string>();
  const responseHeaders = (name: string, value: string) => {
    headers.set(name, value);
    return true;
  };
  if (!stream) {
    const response = await manager.chat(context, { responseHeaders });
    return { response, text: response.message.content, chunks: [], headers };
  }
  const streamed = await collectStream(manager.stream(updateContext(context, { stream: true }), { responseHeaders }));
  return { response: streamed.response, text: streamed.text, chunks: streamed.chunks, headers };
}
