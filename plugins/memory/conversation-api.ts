/**
 * The conversation API, served by the server under /v1/ while memory is ACTIVE: list (search,
 * paging), create, get with messages, rename, delete and export. Each request passed the
 * request middleware (operation `endpoint`), so the principal is who authentication says;
 * a principal sees and changes only its own conversations, and another's id is `memory/NOT_FOUND`
 * exactly as an unknown one. Every input is validated; a bad one is `memory/INVALID_REQUEST`
 * (400) naming the field.
 */
import { z } from 'zod';
import {
  type ConversationStore,
  decodeConversationCursor,
  type EndpointReply,
  type EndpointRequest,
  isPlugboardError,
  type JsonValue,
  type PluginEndpoint,
} from '../../src/index.ts';
import { EXPORT_FORMATS, exportConversation } from './conversation-export.ts';
import { conversationJson, fullConversationJson } from './conversation-json.ts';
import { conversationNotFound, memoryErrors } from './errors.ts';
import type { MemoryMetrics } from './memory-metrics.ts';
import { principalOf } from './principal.ts';

/** What the handlers need once the plugin is initialized. */
export interface ConversationApiDeps {
  readonly store: ConversationStore;
  readonly metrics: MemoryMetrics;
}

const title = z
  .string()
  .max(500)
  .refine((text) => text.trim() !== '', { error: 'must not be blank' });

const listQuery = z.object({
  search: z.string().max(500).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { error: 'expected a whole number from 1 to 100' })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: 'expected a whole number from 1 to 100' }).max(100))
    .optional(),
  cursor: z.string().min(1).max(1000).optional(),
});

const createBody = z.strictObject({
  title: title.optional(),
  metadata: z.record(z.string(), z.json()).optional(),
});

const renameBody = z.strictObject({ title });

const exportQuery = z.object({
  format: z.enum(EXPORT_FORMATS, { error: `expected one of ${EXPORT_FORMATS.join(', ')}` }).default('json'),
});

/** Longest id looked up (the stores' limit): a longer one is not found. */
const MAX_ID_LENGTH = 256;

/**
 * The API's endpoints; `deps` answers `undefined` until the plugin is initialized.
 *
 * @example
 * ```ts
 * endpoints: conversationEndpoints(() => (store && metrics ? { store, metrics } : undefined)),
 * ```
 */
export function conversationEndpoints(deps: () => ConversationApiDeps | undefined): readonly PluginEndpoint[] {
  const ready = (): ConversationApiDeps => {
    const current = deps();
    if (current === undefined) throw new Error('memory is not initialized');
    return current;
  };
  return [
    {
      method: 'GET',
      path: '/v1/conversations',
      scope: 'chat',
      description: 'The caller’s conversations, most recently updated first (?search=&limit=&cursor=)',
      handle: async (request) => {
        const query = parse(listQuery, request.query, 'query');
        // Every store uses the one cursor format: a bad cursor is the client's to fix (400);
        // another invalid argument (a principal id too long for the store) stays a store error.
        if (query.cursor !== undefined) {
          try {
            decodeConversationCursor(query.cursor);
          } catch {
            throw memoryErrors.INVALID_REQUEST('query.cursor: expected the next_cursor of a previous page');
          }
        }
        const page = await ready().store.list(principalOf(request.principal), {
          ...(query.search === undefined ? {} : { search: query.search }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        });
        return {
          body: { object: 'list', data: page.items.map(conversationJson), next_cursor: page.nextCursor ?? null },
        };
      },
    },
    {
      method: 'POST',
      path: '/v1/conversations',
      scope: 'chat',
      description: 'Creates a conversation ({ title?, metadata? })',
      handle: async (request) => {
        const body = parse(createBody, jsonBody(request, {}), 'body');
        const { store, metrics } = ready();
        const conversation = await store.create(principalOf(request.principal), {
          ...(body.title === undefined ? {} : { title: body.title }),
          ...(body.metadata === undefined ? {} : { metadata: body.metadata as Record<string, JsonValue> }),
        });
        metrics.conversationsCreated.inc({ via: 'api' });
        return { status: 201, body: conversationJson(conversation) };
      },
    },
    {
      method: 'GET',
      path: '/v1/conversations/:id',
      scope: 'chat',
      description: 'A conversation with its messages',
      handle: async (request) => {
        const { conversation, messages } = await loadWhole(ready().store, request);
        return { body: fullConversationJson(conversation, messages) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/conversations/:id',
      scope: 'chat',
      description: 'Renames a conversation ({ title })',
      handle: async (request) => {
        const id = conversationId(request);
        const body = parse(renameBody, jsonBody(request, undefined), 'body');
        const renamed = await ready().store.rename(principalOf(request.principal), id, body.title);
        if (renamed === undefined) throw conversationNotFound();
        return { body: conversationJson(renamed) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/conversations/:id',
      scope: 'chat',
      description: 'Deletes a conversation and its messages',
      handle: async (request): Promise<EndpointReply> => {
        const id = conversationId(request);
        if (!(await ready().store.delete(principalOf(request.principal), id))) throw conversationNotFound();
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/conversations/:id/export',
      scope: 'chat',
      description: 'A conversation as a download (?format=json|markdown)',
      handle: async (request) => {
        const { format } = parse(exportQuery, request.query, 'query');
        const { conversation, messages } = await loadWhole(ready().store, request);
        return exportConversation(conversation, messages, format);
      },
    },
  ];
}

async function loadWhole(store: ConversationStore, request: EndpointRequest) {
  const id = conversationId(request);
  const principal = principalOf(request.principal);
  const conversation = await store.get(principal, id);
  if (conversation === undefined) throw conversationNotFound();
  try {
    return { conversation, messages: await store.messages(principal, id) };
  } catch (error) {
    // Deleted between the two reads.
    if (isPlugboardError(error, 'STORE_NOT_FOUND')) throw conversationNotFound();
    throw error;
  }
}

function conversationId(request: EndpointRequest): string {
  const id = request.params.id;
  if (id === undefined || id === '' || id.length > MAX_ID_LENGTH) throw conversationNotFound();
  return id;
}

/** The JSON body, `fallback` when there is none; raw bytes (another content type) are refused. */
function jsonBody(request: EndpointRequest, fallback: JsonValue | undefined): unknown {
  if (request.body instanceof Uint8Array) {
    throw memoryErrors.INVALID_REQUEST(`body: expected application/json, got ${request.contentType ?? 'no type'}`);
  }
  return request.body ?? fallback;
}

/** `value` parsed by `schema`, or `memory/INVALID_REQUEST` naming each bad field (`body.title: …`). */
function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const path = [where, ...issue.path.map(String)].join('.');
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return `${path}: ${issue.message}${keys}`;
  });
  throw memoryErrors.INVALID_REQUEST(issues.join('; '));
}
