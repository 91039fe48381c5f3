import { getCredential } from '../auth/credentials.ts';
import { ApiError, apiErrorFrom, unreachable } from './api-error.ts';

/**
 * Every request the UI makes to Plugboard goes through here: the right credential for the
 * path, JSON in and out, the server's error words as an ApiError, and a notice when the
 * server asks for a credential (the shell then shows the key prompt).
 *
 * @example
 * ```ts
 * const { data } = await api<{ data: { id: string }[] }>('/v1/models');
 * await api('/admin/plugins/cache/disable', { method: 'POST' });
 * ```
 */
export interface ApiOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A JSON body (objects), or a body sent as it is (Blob, FormData, string). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** False: a refusal for want of a credential does not make the shell ask for one (a look in passing). */
  readonly announce?: boolean;
}

/** Who a refused request needed: the shell asks for that credential. */
export type CredentialNeed = { readonly kind: 'apiKey' | 'adminToken'; readonly error: ApiError };

const needListeners = new Set<(need: CredentialNeed) => void>();

/** Called when a request was refused for want of a credential (401) or of a scope (403). */
export function onCredentialNeeded(listener: (need: CredentialNeed) => void): () => void {
  needListeners.add(listener);
  return () => needListeners.delete(listener);
}

/** Asks the shell to prompt for a credential (a button's "Enter an API key"), with the reason shown. */
export function askForCredential(kind: CredentialNeed['kind'], reason: string): void {
  const error = new ApiError(401, 'UNAUTHORIZED', reason);
  for (const listener of needListeners) listener({ kind, error });
}

/** Headers for a request to `path`: the admin token on /admin (else the API key), the API key elsewhere. */
export function authHeaders(path: string): Record<string, string> {
  const credential = isAdminPath(path)
    ? (getCredential('adminToken') ?? getCredential('apiKey'))
    : getCredential('apiKey');
  return credential === undefined ? {} : { authorization: `Bearer ${credential}` };
}

/** Sends a request and returns the response as it is when it succeeded (2xx). */
export async function send(path: string, options: ApiOptions = {}): Promise<Response> {
  const { body, json } = encodeBody(options.body);
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers: {
        accept: 'application/json',
        ...(json ? { 'content-type': 'application/json' } : {}),
        ...authHeaders(path),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw unreachable(cause);
  }
  if (response.ok) return response;
  const error = await apiErrorFrom(response);
  if (options.announce !== false) announceIfCredentialNeeded(path, error);
  throw error;
}

/**
 * Tells the shell when a refusal of `path` was for want of a credential (401, or 403 on
 * /admin), so it asks for one. `send` does it; a request made another way (an upload through
 * XMLHttpRequest, for its progress) calls it itself.
 */
export function announceIfCredentialNeeded(path: string, error: ApiError): void {
  if (error.status !== 401 && !(error.status === 403 && isAdminPath(path))) return;
  const need: CredentialNeed = { kind: isAdminPath(path) ? 'adminToken' : 'apiKey', error };
  for (const listener of needListeners) listener(need);
}

/** Sends a request and parses its JSON answer (undefined for 204). */
export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  try {
    return (text === '' ? undefined : JSON.parse(text)) as T;
  } catch {
    throw new ApiError(response.status, 'RESPONSE_INVALID', `The server's answer to ${path} was not JSON`);
  }
}

function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

function encodeBody(body: unknown): { body: BodyInit | undefined; json: boolean } {
  if (body === undefined) return { body: undefined, json: false };
  if (typeof body === 'string' || body instanceof Blob || body instanceof FormData || body instanceof ArrayBuffer)
    return { body, json: false };
  return { body: JSON.stringify(body), json: true };
}
