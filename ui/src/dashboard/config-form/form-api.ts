import type { JsonSchema } from './json-schema.ts';
import type { KeyPath } from './value-path.ts';

/** What every field of the configuration form gets from the form. */
export interface FormApi {
  /** The whole schema (for `$ref`s). */
  readonly root: JsonSchema;
  /** The config being edited. */
  readonly draft: unknown;
  /** Prefix of the fields' element ids (unique per form on the page). */
  readonly idPrefix: string;
  readonly disabled: boolean;
  /** Sets the value at `path` (undefined: leave the key out, so its default applies). */
  readonly change: (path: KeyPath, value: unknown) => void;
  /** The messages to show at `path`: the server's, and the form's own checks. */
  readonly errorsAt: (path: KeyPath) => readonly string[];
  /** A field whose text is not a value at all (not a number, not JSON) reports it here. */
  readonly setInputError: (path: KeyPath, message: string | undefined) => void;
}

/** The element id of the field at `path`. */
export function fieldId(form: FormApi, path: KeyPath): string {
  const tail = path.map((key) => String(key).replace(/[^A-Za-z0-9_-]/g, '_')).join('-');
  return `${form.idPrefix}-${tail === '' ? 'root' : tail}`;
}

/** A key as a label: `max_prompt_tokens` → `max prompt tokens`. */
export function labelOf(key: string | number, schema: JsonSchema): string {
  if (schema.title !== undefined) return schema.title;
  return typeof key === 'number' ? `item ${key + 1}` : key.replace(/_/g, ' ');
}

/** A default as the form shows it: `96`, `"redact"`, `[]`. */
export function showDefault(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}
