/*
 * Values across the sandbox boundary. Calls and answers travel as JSON; what JSON cannot carry
 * is turned into data here: a thrown error (or a PlugboardError inside an answer, as a
 * middleware's `reject` decision holds) into a {@link WireError}, a PluginResult into its value
 * or its error. Each side decodes what the other encoded, so a plugin's coded refusal arrives in
 * the server as the same PlugboardError it threw in its process.
 */
import { type AnyErrorCode, PlugboardError } from '../core/errors/plugboard-error.ts';
import { isPluginResult } from '../core/result.ts';
import type { WireError } from './protocol.ts';

/** The key that marks an encoded error inside an encoded value. */
const ERROR_KEY = '$plugboardError';

/** Anything thrown, as data. A PlugboardError keeps everything the server needs to rebuild it. */
export function toWireError(thrown: unknown): WireError {
  if (thrown instanceof PlugboardError) {
    return {
      code: thrown.code,
      message: thrown.message,
      plugboard: {
        status: thrown.status,
        publicMessage: thrown.publicMessage,
        ...(thrown.plugin === undefined ? {} : { plugin: thrown.plugin }),
        ...(thrown.hook === undefined ? {} : { hook: thrown.hook }),
        ...(thrown.details === undefined ? {} : { details: plainRecord(thrown.details) }),
        ...(thrown.headers === undefined ? {} : { headers: { ...thrown.headers } }),
      },
      ...(thrown.stack === undefined ? {} : { stack: thrown.stack }),
    };
  }
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return {
      message: thrown.message,
      name: thrown.name,
      ...(typeof code === 'string' ? { code } : {}),
      ...(thrown.stack === undefined ? {} : { stack: thrown.stack }),
    };
  }
  return { message: describe(thrown) };
}

/**
 * The error again, on the other side: a PlugboardError with its code, status and both messages,
 * or a plain Error carrying the original's message, name and stack (the runtime then wraps it
 * as any plugin exception, and its text stays in the log).
 */
export function fromWireError(given: WireError): Error {
  // From a plugin's process: data to check, whatever the type says.
  const wire: Partial<WireError> = typeof given === 'object' && given !== null ? given : { message: String(given) };
  if (typeof wire.message !== 'string') return new Error('an error without a message');
  if (
    typeof wire.plugboard === 'object' &&
    wire.plugboard !== null &&
    typeof wire.code === 'string' &&
    typeof wire.plugboard.publicMessage === 'string' &&
    Number.isInteger(wire.plugboard.status)
  ) {
    const p = wire.plugboard;
    const error = new PlugboardError(wire.code as AnyErrorCode, wire.message, {
      status: p.status,
      publicMessage: p.publicMessage,
      ...(p.plugin === undefined ? {} : { plugin: p.plugin }),
      ...(p.hook === undefined ? {} : { hook: p.hook }),
      ...(p.details === undefined ? {} : { details: p.details }),
      ...(p.headers === undefined ? {} : { headers: p.headers }),
    });
    if (wire.stack !== undefined) error.stack = wire.stack;
    return error;
  }
  const error = new Error(wire.message);
  if (typeof wire.name === 'string') error.name = wire.name;
  if (typeof wire.code === 'string') (error as Error & { code?: string }).code = wire.code;
  if (typeof wire.stack === 'string') error.stack = wire.stack;
  return error;
}

/**
 * A plugin's answer made sendable: a PluginResult becomes its value (a failure throws its
 * error, which the caller sends as a failed result), PlugboardErrors inside become marked data.
 * Plain data passes untouched and uncopied unless an error is found inside (the common case
 * costs one walk, no allocation).
 */
export function encodeAnswer(value: unknown): unknown {
  if (isPluginResult(value)) {
    if (!value.ok) throw value.error;
    return encodeAnswer(value.value);
  }
  return encodeErrors(value, 0);
}

/** Any value made sendable: errors inside (a hook payload's, an error's) become marked data. */
export function encodeValue(value: unknown): unknown {
  return encodeErrors(value, 0);
}

/** The answer as the plugin gave it: marked errors become PlugboardErrors again. */
export function decodeAnswer(value: unknown): unknown {
  return decodeErrors(value, 0);
}

/** Deeper than this, values are sent as they are (a decision's error sits at depth 1). */
const MAX_DEPTH = 4;

function encodeErrors(value: unknown, depth: number): unknown {
  if (value instanceof Error) return { [ERROR_KEY]: toWireError(value) };
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field !== 'object' || field === null) continue;
    const encoded = encodeErrors(field, depth + 1);
    if (encoded !== field) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = encoded;
    }
  }
  return copy ?? value;
}

function decodeErrors(value: unknown, depth: number): unknown {
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const wire = record[ERROR_KEY];
  if (wire !== undefined && typeof wire === 'object' && wire !== null) return fromWireError(wire as WireError);
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    const field = record[key];
    if (typeof field !== 'object' || field === null) continue;
    const decoded = decodeErrors(field, depth + 1);
    if (decoded !== field) {
      copy ??= { ...record };
      copy[key] = decoded;
    }
  }
  return copy ?? value;
}

/** Error details as JSON data (a detail that JSON cannot carry is described instead). */
function plainRecord(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  } catch {
    return { unserializable: describe(record) };
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}
