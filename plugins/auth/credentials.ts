/** What a request presented. */
export type Credential =
  | { readonly kind: 'none' }
  /** An `Authorization` header that is not `Bearer <token>` (Basic, an empty Bearer …). */
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The credential of a request: `Authorization: Bearer <token>` (what the OpenAI clients send,
 * and the Ollama clients with `headers: { Authorization: … }`), else the API-key header
 * (`x-api-key` by default, lower-case). `Authorization` wins when both are sent.
 *
 * @example
 * ```ts
 * extractCredential(context.client?.headers ?? {}, 'x-api-key');
 * // { kind: 'token', token: 'pb_…' }
 * ```
 */
export function extractCredential(headers: Readonly<Record<string, string>>, keyHeader: string): Credential {
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization.trim() !== '') {
    const match = BEARER.exec(authorization);
    return match === null ? { kind: 'malformed' } : { kind: 'token', token: match[1]! };
  }
  const key = headers[keyHeader]?.trim();
  if (key === undefined || key === '') return { kind: 'none' };
  return /\s/.test(key) ? { kind: 'malformed' } : { kind: 'token', token: key };
}

/**
 * The headers without the credentials, so that plugins running after auth (loggers, tracers)
 * never see a key or token; they get `context.principal` instead.
 *
 * @example
 * ```ts
 * withoutCredentials({ authorization: 'Bearer pb_…', accept: '*\/*' }, 'x-api-key'); // { accept: '*\/*' }
 * ```
 */
export function withoutCredentials(
  headers: Readonly<Record<string, string>>,
  keyHeader: string,
): Record<string, string> {
  const rest: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'authorization' && name !== keyHeader) rest[name] = value;
  }
  return rest;
}
