/**
 * Anthropic's streaming events as Plugboard chunks: `text_delta` → content, `thinking_delta`
 * → thinking, a `tool_use` block's `input_json_delta`s assembled and yielded as one complete
 * tool call at its `content_block_stop`, and at `message_stop` a last chunk with the usage
 * and finish reason that `message_start` and `message_delta` reported.
 */
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { type ChatChunk, PlugboardError } from '../../src/index.ts';
import { type TokenCounts, toFinishReason, toolArguments, toUsage } from './reply-mapping.ts';

interface ToolBlock {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  json: string;
}

/**
 * Reads `events` to `message_stop`. Event types it does not know (later API versions may add
 * some), `ping`s, signatures and citations are passed over.
 * @throws PlugboardError `BACKEND_FAILED` when the stream ends before `message_stop`, or a
 * tool call's input is not valid JSON. Errors of the event source pass through.
 */
export async function* readMessageStream(events: AsyncIterable<RawMessageStreamEvent>): AsyncGenerator<ChatChunk> {
  const tools = new Map<number, ToolBlock>();
  let counts: TokenCounts = {};
  let stopReason: string | null = null;
  for await (const event of events) {
    switch (event.type) {
      case 'message_start':
        counts = event.message.usage;
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'tool_use')
          tools.set(event.index, { id: block.id, name: block.name, input: block.input, json: '' });
        else if (block.type === 'text' && block.text) yield { content: block.text };
        else if (block.type === 'thinking' && block.thinking) yield { thinking: block.thinking };
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta.type === 'text_delta') {
          if (delta.text) yield { content: delta.text };
        } else if (delta.type === 'thinking_delta') {
          if (delta.thinking) yield { thinking: delta.thinking };
        } else if (delta.type === 'input_json_delta') {
          const tool = tools.get(event.index);
          if (tool) tool.json += delta.partial_json;
        }
        break;
      }
      case 'content_block_stop': {
        const tool = tools.get(event.index);
        if (tool) {
          tools.delete(event.index);
          yield { toolCalls: [{ id: tool.id, name: tool.name, arguments: assembled(tool) }] };
        }
        break;
      }
      case 'message_delta':
        stopReason = event.delta.stop_reason ?? stopReason;
        counts = merge(counts, event.usage);
        break;
      case 'message_stop': {
        const finishReason = toFinishReason(stopReason);
        yield { usage: toUsage(counts), ...(finishReason === undefined ? {} : { finishReason }) };
        return;
      }
    }
  }
  throw new PlugboardError('BACKEND_FAILED', 'anthropic: the stream ended before message_stop (connection lost?)', {
    plugin: 'anthropic',
  });
}

/** The tool call's arguments: the streamed JSON, or the block's start input when nothing streamed. */
function assembled(tool: ToolBlock): string {
  if (tool.json.trim() === '') return toolArguments(tool.input);
  try {
    JSON.parse(tool.json);
  } catch {
    throw new PlugboardError('BACKEND_FAILED', `anthropic: the input of tool call "${tool.name}" is not valid JSON`, {
      plugin: 'anthropic',
      details: { tool: tool.name, input: tool.json.slice(0, 200) },
    });
  }
  return tool.json;
}

/** `message_delta` usage is cumulative; its null fields keep what `message_start` said. */
function merge(counts: TokenCounts, update: TokenCounts): TokenCounts {
  const merged: Record<string, number | null | undefined> = { ...counts };
  for (const [key, value] of Object.entries(update)) {
    if (typeof value === 'number') merged[key] = value;
  }
  return merged as TokenCounts;
}
