import type { ChildMessage } from './protocol.ts';

/*
 * The plugin controls every byte its process sends (it runs in the same JavaScript realm as the
 * child host, and can write to the pipe itself): a message is data to check, never a value to
 * trust. A message that fails here is a protocol violation, and its process is killed.
 */

type Check = (message: Record<string, unknown>) => boolean;

const isId = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) > 0;
const isString = (value: unknown): boolean => typeof value === 'string';
const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);
const isWireError = (value: unknown): boolean => isObject(value) && isString((value as { message?: unknown }).message);

const CHECKS: Readonly<Record<ChildMessage['t'], Check>> = {
  ready: () => true,
  loaded: (m) =>
    isObject(m.shape) &&
    isObject((m.shape as { metadata?: unknown }).metadata) &&
    Array.isArray((m.shape as { methods?: unknown }).methods),
  'load-failed': (m) => isWireError(m.error),
  'config-checked': (m) => isId(m.id) && isObject(m.check),
  result: (m) => isId(m.id) && (m.ok === true || (m.ok === false && isWireError(m.error))),
  chunk: (m) => isId(m.id),
  end: (m) => isId(m.id),
  'stream-error': (m) => isId(m.id) && isWireError(m.error),
  pong: (m) => isId(m.id),
  log: (m) => isString(m.level) && isObject(m.fields) && isString(m.msg),
  effect: (m) => isId(m.id) && (m.kind === 'header' || m.kind === 'data') && isString(m.name),
  'service-call': (m) =>
    isId(m.id) && isId(m.callId) && isString(m.service) && isString(m.method) && Array.isArray(m.args),
  fetch: (m) => {
    const request = m.request as Record<string, unknown> | undefined;
    return (
      isId(m.id) &&
      isObject(request) &&
      isString(request!.url) &&
      isString(request!.method) &&
      Array.isArray(request!.headers) &&
      (request!.body === undefined || isString(request!.body))
    );
  },
};

/** The message, when it has the shape of one the child may send; undefined otherwise. */
export function checkChildMessage(value: unknown): ChildMessage | undefined {
  if (!isObject(value)) return undefined;
  const message = value as Record<string, unknown>;
  const check = typeof message.t === 'string' ? CHECKS[message.t as ChildMessage['t']] : undefined;
  return check?.(message) ? (value as ChildMessage) : undefined;
}
