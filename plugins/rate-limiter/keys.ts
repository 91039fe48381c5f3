import { createHash } from 'node:crypto';
import type { ChatContext } from '../../src/index.ts';
import type { KeyKind } from './config.ts';

/** Who or what a limit counts for one request. */
export interface Subject {
  /** The counter's key in the store: prefixed by kind, so a principal named like an address never shares one. */
  readonly id: string;
  /** For messages: the kind actually used (`ip (no principal)` when the principal was missing). Never the id itself. */
  readonly described: string;
}

/** Longer parts (a model name is whatever the client sent) are hashed, so a key stays small. */
const MAX_PART = 128;

function part(value: string): string {
  return value.length <= MAX_PART ? value : `sha256:${createHash('sha256').update(value).digest('hex')}`;
}

/**
 * The caller's address: the last value of `ipHeader` when it is configured and present (the
 * address the nearest proxy saw — earlier values are whatever the client sent), else the
 * socket's address.
 */
export function clientAddress(context: ChatContext, ipHeader: string | undefined): string {
  if (ipHeader !== undefined) {
    const forwarded = context.client?.headers?.[ipHeader]?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  return context.client?.address ?? 'unknown';
}

/**
 * The subject of a limit of kind `kind` for this request.
 *
 * A missing principal (no auth plugin, or `anonymous: true`) falls back to the client's
 * address: a `principal` limit then still limits each caller, instead of putting every
 * anonymous caller in one shared bucket (which one noisy client could exhaust for all).
 *
 * @example
 * ```ts
 * subjectOf('principal_model', context, undefined); // { id: 'principal:alice|model:llama3.2', described: 'principal_model' }
 * ```
 */
export function subjectOf(kind: KeyKind, context: ChatContext, ipHeader: string | undefined): Subject {
  const principal = context.principal?.id;
  const caller =
    principal === undefined ? `ip:${part(clientAddress(context, ipHeader))}` : `principal:${part(principal)}`;
  const model = `model:${part(context.model ?? '-')}`;
  switch (kind) {
    case 'global':
      return { id: 'global', described: 'global' };
    case 'ip':
      return { id: `ip:${part(clientAddress(context, ipHeader))}`, described: 'ip' };
    case 'model':
      return { id: model, described: 'model' };
    case 'principal':
      return { id: caller, described: principal === undefined ? 'ip (no principal)' : 'principal' };
    case 'principal_model':
      return {
        id: `${caller}|${model}`,
        described: principal === undefined ? 'ip and model (no principal)' : 'principal and model',
      };
  }
}
