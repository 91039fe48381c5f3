import { ApiError } from '../api/api-error.ts';
import { api, send } from '../api/client.ts';
import { type ChatMessage, newMessageId, type ToolCallView } from './chat-types.ts';
import { pluginEndpoints } from './plugin-endpoints.ts';

/** A conversation of the memory plugin's list (plugins/memory/README.md, "The conversation API"). */
export interface ConversationSummary {
  readonly id: string;
  readonly title: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly message_count: number;
}

export interface ConversationPage {
  readonly data: readonly ConversationSummary[];
  readonly next_cursor: string | null;
}

/** A stored conversation, its messages as the chat page shows them. */
export interface LoadedConversation {
  readonly id: string;
  readonly title: string | null;
  readonly messages: readonly ChatMessage[];
}

const BASE = '/v1/conversations';

/**
 * Whether the memory plugin serves conversations here: its list answers (`on`), or no running
 * plugin serves it (`GET /plugins`), or the server says there is no such endpoint or the plugin
 * is disabled (404: `off`). Anything else — the
 * plugin down (503), a refused key — is thrown: the page shows it.
 *
 * @example
 * ```ts
 * if ((await probeMemory()) === 'on') showSidebar();
 * ```
 */
export async function probeMemory(signal?: AbortSignal): Promise<'on' | 'off'> {
  if ((await pluginEndpoints())?.has('GET /v1/conversations') === false) return 'off';
  try {
    await api(`${BASE}?limit=1`, signal === undefined ? {} : { signal });
    return 'on';
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return 'off';
    throw error;
  }
}

/** One page of the caller's conversations, most recently updated first. */
export async function listConversations(
  options: { readonly search?: string; readonly cursor?: string; readonly limit?: number },
  signal?: AbortSignal,
): Promise<ConversationPage> {
  const query = new URLSearchParams({ limit: String(options.limit ?? 50) });
  if (options.search !== undefined && options.search.trim() !== '')
    query.set('search', options.search.trim().slice(0, 500));
  if (options.cursor !== undefined) query.set('cursor', options.cursor);
  const page = await api<ConversationPage>(`${BASE}?${query}`, signal === undefined ? {} : { signal });
  return { data: page?.data ?? [], next_cursor: page?.next_cursor ?? null };
}

/** A conversation with its messages; 404 `memory/NOT_FOUND` when the caller has no such one. */
export async function getConversation(id: string, signal?: AbortSignal): Promise<LoadedConversation> {
  const body = await api<{ id: string; title: string | null; messages?: readonly StoredMessageJson[] }>(
    `${BASE}/${encodeURIComponent(id)}`,
    signal === undefined ? {} : { signal },
  );
  return { id: body.id, title: body.title, messages: (body.messages ?? []).flatMap(toChatMessage) };
}

export function renameConversation(id: string, title: string): Promise<ConversationSummary> {
  return api<ConversationSummary>(`${BASE}/${encodeURIComponent(id)}`, { method: 'PATCH', body: { title } });
}

export async function deleteConversation(id: string): Promise<void> {
  await api(`${BASE}/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** The export as a file: the server's body and the name it gives it. */
export async function exportConversation(
  id: string,
  format: 'json' | 'markdown',
): Promise<{ readonly blob: Blob; readonly filename: string }> {
  const response = await send(`${BASE}/${encodeURIComponent(id)}/export?format=${format}`, {
    headers: { accept: format === 'json' ? 'application/json' : 'text/markdown' },
  });
  const blob = await response.blob();
  const named = /filename="?([^";]+)"?/i.exec(response.headers.get('content-disposition') ?? '')?.[1];
  return { blob, filename: named ?? `conversation-${id}.${format === 'json' ? 'json' : 'md'}` };
}

interface StoredMessageJson {
  readonly role: string;
  readonly content: string;
  readonly images?: readonly string[];
  readonly thinking?: string;
  readonly tool_calls?: readonly { readonly id?: string; readonly function?: { name?: string; arguments?: string } }[];
}

/** A stored message as the page shows it; system and tool messages are not shown. */
function toChatMessage(stored: StoredMessageJson): ChatMessage[] {
  if (stored.role !== 'user' && stored.role !== 'assistant') return [];
  const images = (stored.images ?? []).flatMap((image) => {
    const src = imageSource(image);
    return src === undefined ? [] : [src];
  });
  const toolCalls: ToolCallView[] = (stored.tool_calls ?? []).map((call) => ({
    ...(call.id === undefined ? {} : { id: call.id }),
    name: call.function?.name ?? '',
    arguments: call.function?.arguments ?? '',
  }));
  return [
    {
      id: newMessageId(),
      role: stored.role,
      content: typeof stored.content === 'string' ? stored.content : '',
      ...(images.length === 0 ? {} : { images }),
      ...(stored.thinking === undefined ? {} : { thinking: stored.thinking }),
      ...(toolCalls.length === 0 ? {} : { toolCalls }),
      ...(stored.role === 'assistant' ? { status: 'done' as const } : {}),
    },
  ];
}

/**
 * A stored image as an `<img>` source: data URLs as they are, bare base64 (what Ollama clients
 * send) as a data URL; a remote URL is not loaded (it would tell that server who reads).
 */
function imageSource(image: string): string | undefined {
  if (image.startsWith('data:image/')) return image;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(image.slice(0, 200))) return `data:image/png;base64,${image}`;
  return undefined;
}
