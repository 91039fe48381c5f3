import { useEffect, useState } from 'preact/hooks';
import { FieldErrors, FieldHelp } from './field-help.tsx';
import { type FormApi, showDefault } from './form-api.ts';
import type { FieldKind } from './json-schema.ts';
import { getAt, type KeyPath } from './value-path.ts';

/**
 * A key the form cannot show as plain inputs (a union, a record, a list of objects), edited
 * as JSON text. Text that is not JSON is reported at the field and not sent; what the JSON
 * holds is checked by the server, whose messages land here, saying where inside.
 */
export function JsonField(props: {
  readonly form: FormApi;
  readonly field: FieldKind;
  readonly path: KeyPath;
  readonly label: string;
  readonly id: string;
  readonly describedBy: string;
  readonly required: boolean;
}) {
  const { form, field, path, id } = props;
  const value = getAt(form.draft, path);
  const [text, setText] = useState(() => toText(value));
  // The value replaced from outside (a reload of the form): show it.
  useEffect(() => {
    if (!sameJson(text, value)) setText(toText(value));
  }, [value]);
  const errors = form.errorsAt(path);
  const fallback = field.schema.default;
  const rows = Math.min(14, Math.max(3, text.split('\n').length + 1));
  return (
    <div class={`config-field config-json ${errors.length > 0 ? 'has-errors' : ''}`}>
      <label for={id}>
        {props.label}
        {props.required ? <span aria-hidden="true"> *</span> : null} <span class="muted">(JSON)</span>
      </label>
      <textarea
        id={id}
        class="json-input"
        rows={rows}
        spellcheck={false}
        disabled={form.disabled}
        value={text}
        placeholder={fallback === undefined ? '' : JSON.stringify(fallback)}
        aria-invalid={errors.length > 0 ? 'true' : undefined}
        aria-describedby={props.describedBy || undefined}
        onInput={(event) => {
          const typed = event.currentTarget.value;
          setText(typed);
          if (typed.trim() === '') {
            form.setInputError(path, undefined);
            form.change(path, undefined);
            return;
          }
          try {
            const parsed: unknown = JSON.parse(typed);
            form.setInputError(path, undefined);
            form.change(path, parsed);
          } catch (error) {
            form.setInputError(path, `not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
          }
        }}
      />
      <FieldHelp id={`${id}-help`} field={field} />
      {value === undefined && fallback !== undefined ? (
        <p class="field-help muted">Empty: the default {showDefault(fallback)} applies.</p>
      ) : null}
      <FieldErrors id={`${id}-errors`} messages={errors} />
    </div>
  );
}

function toText(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function sameJson(text: string, value: unknown): boolean {
  if (text.trim() === '') return value === undefined;
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(value);
  } catch {
    // Text being typed that is not JSON yet: keep it.
    return true;
  }
}
