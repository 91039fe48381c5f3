import type { ChatContext, Principal } from '../model/context.ts';
import type { JsonValue } from '../stores/json.ts';
import type { PluginReturn } from './kinds.ts';
import type { PluginCall } from './plugin-call.ts';

/** The methods an endpoint may answer. */
export const ENDPOINT_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type EndpointMethod = (typeof ENDPOINT_METHODS)[number];

/**
 * One request to a plugin's endpoint, as the server parsed it. It passed the request
 * middleware first (operation `endpoint`), so `principal` is who the authentication
 * middleware says is asking.
 *
 * @example
 * ```ts
 * // GET /v1/conversations/4f1c…?format=markdown
 * request.params.id; // '4f1c…'
 * request.query.format; // 'markdown'
 * ```
 */
export interface EndpointRequest {
  readonly method: EndpointMethod;
  /** The endpoint's declared path (`/v1/conversations/:id`), not the requested one. */
  readonly route: string;
  /** The `:name` segments of the path, decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string: the last value of each name. */
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The body: parsed JSON for `application/json`, the raw bytes for any other content type,
   * `undefined` when there is none.
   */
  readonly body: JsonValue | Uint8Array | undefined;
  /** The body's media type without parameters (`application/pdf`), when there is a body. */
  readonly contentType: string | undefined;
  /** Who is asking, as the authentication middleware established (absent without one). */
  readonly principal: Principal | undefined;
  /** The operation's context as middleware left it (its request id, client, metadata). */
  readonly context: ChatContext;
}

/**
 * What an endpoint answers: JSON (status 200 unless said), or text of a media type (an
 * export as Markdown), optionally offered as a download.
 *
 * @example
 * ```ts
 * return { status: 201, body: conversation };
 * return { text: markdown, contentType: 'text/markdown', filename: 'chat.md' };
 * ```
 */
export type EndpointReply =
  | { readonly status?: number; readonly body: JsonValue; readonly headers?: Readonly<Record<string, string>> }
  | {
      readonly status?: number;
      readonly text: string;
      /** Its media type (`text/markdown`); `; charset=utf-8` is added. */
      readonly contentType: string;
      /** Offered as a download of this name (`Content-Disposition: attachment`). */
      readonly filename?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      /** No body: 204 No Content, or 202 Accepted (taken, nothing to say yet). */
      readonly status: 202 | 204;
      readonly headers?: Readonly<Record<string, string>>;
    };

/**
 * An HTTP endpoint a plugin adds to the server (the conversation API of conversation memory,
 * document upload of RAG). It is served only while the plugin is ACTIVE, and every request
 * to it passes the request middleware first — authentication, rate limits, logging — as the
 * operation `endpoint` with `context.metadata.endpoint` = `{ plugin, method, route, scope }`.
 * Errors: throw a PlugboardError with a 4xx status (its message reaches the client); any other
 * failure answers 500 without its text.
 *
 * @example
 * ```ts
 * endpoints: [{
 *   method: 'GET',
 *   path: '/v1/conversations/:id',
 *   scope: 'chat',
 *   handle: async ({ params, principal }) => {
 *     const found = await store.get(principal?.id ?? 'anonymous', params.id!);
 *     if (!found) throw new PlugboardError('STORE_NOT_FOUND', 'No such conversation');
 *     return { body: toJson(found) };
 *   },
 * }],
 * ```
 */
export interface PluginEndpoint {
  readonly method: EndpointMethod;
  /**
   * Under `/v1/`, in segments of letters, digits, `-`, `_` or `.`, or `:name` parameters
   * (`/v1/conversations/:id/export`). Of two ACTIVE plugins declaring the same method and
   * path, the first in priority order answers (the other is listed in `GET /plugins`); a path
   * the server serves itself (`/v1/models`) always gets the server's route.
   */
  readonly path: string;
  /**
   * The access it needs, for the authentication middleware to map to a credential's scopes
   * (the auth plugin knows `chat`, `embeddings`, `models`, `documents` and `admin`; it refuses
   * one it does not know). Default `chat`.
   */
  readonly scope?: string;
  /** One line, listed in `GET /plugins`. */
  readonly description?: string;
  /** Largest body accepted, in bytes: it can only lower the server's `server.body_limit_mb` (default 16 MiB), which applies first. */
  readonly bodyLimit?: number;
  handle(request: EndpointRequest, call: PluginCall): PluginReturn<EndpointReply>;
}
