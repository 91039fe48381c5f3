import { type ErrorCode, errorCatalogue } from './catalogue.ts';

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
   * `instanceof` recognises PlugboardErrors made by another copy of this module: plugin files
   * are imported through jiti, which evaluates their own copy of Plugboard's modules.
   */
  static override [Symbol.hasInstance](value: unknown): value is PlugboardError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  override readonly name = 'PlugboardError';
  readonly code: ErrorCode;
  readonly plugin: string | undefined;
  readonly hook: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly status: number;

  constructor(code: ErrorCode, message: string, origin: ErrorOrigin = {}) {
    super(message, origin.cause === undefined ? undefined : { cause: origin.cause });
    this.code = code;
    this.plugin = origin.plugin;
    this.hook = origin.hook;
    this.details = origin.details;
    this.status = origin.status ?? errorCatalogue[code].status;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The catalogue's advice for this code. */
  get hint(): string {
    return errorCatalogue[this.code].hint;
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
export function isPlugboardError(value: unknown, code?: ErrorCode): value is PlugboardError {
  return value instanceof PlugboardError && (code === undefined || value.code === code);
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
 * the plugin threw on purpose (its code is the plugin's message to us).
 */
export function toPlugboardError(thrown: unknown, code: ErrorCode, origin: ErrorOrigin): PlugboardError {
  if (thrown instanceof PlugboardError) return thrown;
  return new PlugboardError(code, describeCause(thrown), { ...origin, cause: thrown });
}
