import type { ErrorCode } from './catalogue.ts';
import { lookupErrorCode } from './error-registry.ts';

/** A code a plugin registered with `defineErrors`: `namespace/NAME` (`rate_limit/LIMITED`). */
export type PluginErrorCode = `${string}/${string}`;

/** Any code a PlugboardError may carry: the core catalogue's, or a plugin's namespaced one. */
export type AnyErrorCode = ErrorCode | PluginErrorCode;

/** Where an error happened and what caused it. All fields are optional. */
export interface ErrorOrigin {
  /** The plugin the error belongs to. */
  readonly plugin?: string;
  /** The hook or plugin operation that was running (e.g. `messageReceived`, `processMessage`). */
  readonly hook?: string;
  /** The underlying error. */
  readonly cause?: unknown;
  /** Structured detail for tools: offending fields, a dependency cycle's path, a file path … */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Overrides the catalogue's HTTP status (e.g. a rate limiter answering 429). */
  readonly status?: number;
  /**
   * HTTP response headers that go with this error to the client, when the error is a request's
   * answer: `Retry-After` and `x-ratelimit-*` from a rate limiter, `WWW-Authenticate` from
   * authentication. Headers that frame the response (`content-length`, `connection` …),
   * `set-cookie` and `x-request-id` are not a plugin's to set and are dropped.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * What a client may be told, when it differs from `message` (which goes to the log): an error
   * that wraps a plugin's own exception says what failed and where, never the exception's text,
   * which could quote a secret or a user's message. Default: `message`.
   */
  readonly publicMessage?: string;
}

/** Marks PlugboardErrors across module copies (a registered symbol is the same in every copy). */
const BRAND = Symbol.for('plugboard.PlugboardError');

/**
 * The one error class of Plugboard. Always carries a catalogue `code`.
 *
 * @example
 * ```ts
 * throw new PlugboardError('PLUGIN_TIMEOUT', 'content-filter took longer than 30000 ms', {
 *   plugin: 'content-filter',
 *   hook: 'processMessage',
 * });
 * ```
 */
export class PlugboardError extends Error {
  /**
   * `instanceof` recognises PlugboardErrors made by another copy of this module: a plugin
   * that imports Plugboard by a deep path, or through CommonJS `require`, evaluates its own
   * copy (imports of the public entry points share the server's: see module-loader.ts).
   */
  static override [Symbol.hasInstance](value: unknown): value is PlugboardError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  override readonly name = 'PlugboardError';
  /** A catalogue code (`PLUGIN_TIMEOUT`), a code the server registered, or a plugin's (`rate_limit/LIMITED`). */
  readonly code: string;
  readonly plugin: string | undefined;
  readonly hook: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly status: number;
  /** Response headers for the client (see {@link ErrorOrigin.headers}). */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** What a client may be told (see {@link ErrorOrigin.publicMessage}); `message` is for the log. */
  readonly publicMessage: string;

  constructor(code: AnyErrorCode, message: string, origin: ErrorOrigin = {}) {
    super(message, origin.cause === undefined ? undefined : { cause: origin.cause });
    this.code = code;
    this.plugin = origin.plugin;
    this.hook = origin.hook;
    this.details = origin.details;
    this.status = origin.status ?? lookupErrorCode(code)?.status ?? 500;
    this.headers = origin.headers;
    this.publicMessage = origin.publicMessage ?? message;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The catalogue's advice for this code. */
  get hint(): string {
    return lookupErrorCode(this.code)?.hint ?? `Unregistered error code ${this.code}: register it with defineErrors.`;
  }

  /** The catalogue's one-sentence summary of this code. */
  get summary(): string {
    return lookupErrorCode(this.code)?.summary ?? this.code;
  }

  /**
   * A copy with more of its origin known (the plugin and operation it came from, a status):
   * fields already set are kept unless `origin` sets them. The code and both messages stay.
   */
  withOrigin(origin: ErrorOrigin): PlugboardError {
    const copy = new PlugboardError(this.code as AnyErrorCode, this.message, {
      plugin: origin.plugin ?? this.plugin,
      hook: origin.hook ?? this.hook,
      cause: origin.cause ?? this.cause,
      details: origin.details ?? this.details,
      status: origin.status ?? this.status,
      publicMessage: origin.publicMessage ?? this.publicMessage,
      ...((origin.headers ?? this.headers) === undefined ? {} : { headers: origin.headers ?? this.headers }),
    });
    if (this.stack !== undefined) copy.stack = this.stack;
    return copy;
  }

  /** A plain object for logs and API bodies (the cause is reduced to its message). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.plugin === undefined ? {} : { plugin: this.plugin }),
      ...(this.hook === undefined ? {} : { hook: this.hook }),
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.cause === undefined ? {} : { cause: describeCause(this.cause) }),
      hint: this.hint,
    };
  }
}

/** True when `value` is a PlugboardError, optionally with the given code. */
export function isPlugboardError(value: unknown, code?: string): value is PlugboardError {
  return value instanceof PlugboardError && (code === undefined || value.code === code);
}

/**
 * True for a refusal: a plugin's own coded error (a `defineErrors` code such as
 * `content_filter/BLOCKED`, or `REQUEST_REJECTED`) with a 4xx status, thrown from a processor,
 * a middleware or an extension. It is a decision about this request, not a failure of the
 * plugin: the request ends with it whatever the plugin's failure policy, and it does not count
 * towards the plugin's circuit breaker (policy refusals in a row must not take the plugin out).
 *
 * @example
 * ```ts
 * processMessage(message) {
 *   if (/forbidden/.test(message.content)) throw policyErrors.BLOCKED('The reply was withheld by policy');
 *   return message;
 * }
 * ```
 */
export function isRefusal(error: unknown): boolean {
  return (
    error instanceof PlugboardError &&
    error.status >= 400 &&
    error.status < 500 &&
    (error.code === 'REQUEST_REJECTED' || error.code.includes('/'))
  );
}

/** Turns anything thrown into a readable one-line description. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  if (typeof cause === 'string') return cause;
  try {
    return JSON.stringify(cause) ?? String(cause);
  } catch {
    return String(cause);
  }
}

/**
 * Wraps anything thrown by plugin code into a PlugboardError, keeping a PlugboardError
 * the plugin threw on purpose (its code and message are the plugin's message to the caller).
 * A foreign exception's text is kept as the message, for the log; what a client may be told
 * is the catalogue's summary of `code` and where it happened, never that text.
 */
export function toPlugboardError(thrown: unknown, code: ErrorCode, origin: ErrorOrigin): PlugboardError {
  if (thrown instanceof PlugboardError) return thrown;
  const where = [
    origin.plugin === undefined ? undefined : `plugin "${origin.plugin}"`,
    origin.hook === undefined ? undefined : origin.hook,
  ].filter((part) => part !== undefined);
  const summary = lookupErrorCode(code)?.summary ?? code;
  return new PlugboardError(code, describeCause(thrown), {
    publicMessage: where.length === 0 ? summary : `${summary} (${where.join(', ')})`,
    ...origin,
    cause: thrown,
  });
}
