import { FieldErrors, FieldHelp } from './field-help.tsx';
import { type FormApi, showDefault } from './form-api.ts';
import type { FieldKind, Primitive } from './json-schema.ts';
import { ScalarInput } from './scalar-input.tsx';
import { isSecretPath } from './secret-names.ts';
import { getAt, type KeyPath } from './value-path.ts';

type ArrayKind = Extract<FieldKind, { kind: 'array' }>;

/**
 * A list of scalars: one input per item, each with a Remove button, and Add. A list left out
 * of the config shows its default; adding to it starts from that default.
 */
export function ArrayField(props: {
  readonly form: FormApi;
  readonly field: ArrayKind;
  readonly path: KeyPath;
  readonly label: string;
  readonly id: string;
  readonly describedBy: string;
}) {
  const { form, field, path, label, id } = props;
  const value = getAt(form.draft, path);
  const items: readonly unknown[] | undefined = Array.isArray(value) ? value : undefined;
  const fallback = Array.isArray(field.schema.default) ? (field.schema.default as readonly unknown[]) : undefined;
  const shown = items ?? [];
  const item = field.item;

  const add = () => form.change(path, [...(items ?? fallback ?? []), newItem(item)]);
  const remove = (index: number) => {
    form.setInputError([...path, index], undefined);
    form.change(
      path,
      shown.filter((_, position) => position !== index),
    );
  };

  return (
    <fieldset class="config-fieldset config-array" id={id} aria-describedby={props.describedBy || undefined}>
      <legend>{label}</legend>
      <FieldHelp id={`${id}-help`} field={field} />
      <FieldErrors id={`${id}-errors`} messages={form.errorsAt(path)} />
      {items === undefined ? (
        <p class="muted">Not set{fallback === undefined ? '' : `: the default ${showDefault(fallback)} applies`}.</p>
      ) : items.length === 0 ? (
        <p class="muted">Empty list.</p>
      ) : (
        <ol class="array-items">
          {shown.map((entry, index) => {
            const itemPath = [...path, index];
            const itemId = `${id}-${index}`;
            const errors = form.errorsAt(itemPath);
            return (
              <li key={index}>
                <ScalarInput
                  field={item}
                  value={entry}
                  id={itemId}
                  describedBy={errors.length > 0 ? `${itemId}-errors` : undefined}
                  invalid={errors.length > 0}
                  disabled={form.disabled}
                  secret={isSecretPath(path)}
                  required
                  ariaLabel={`${label}, item ${index + 1}`}
                  onChange={(next) => {
                    if (next === undefined && item.kind !== 'string') {
                      form.setInputError(itemPath, 'enter a value, or remove the item');
                      return;
                    }
                    form.change(itemPath, next ?? '');
                  }}
                  onInputError={(message) => form.setInputError(itemPath, message)}
                />
                <button
                  type="button"
                  class="small"
                  disabled={form.disabled}
                  aria-label={`Remove ${label}, item ${index + 1}`}
                  onClick={() => remove(index)}
                >
                  Remove
                </button>
                <FieldErrors id={`${itemId}-errors`} messages={errors} />
              </li>
            );
          })}
        </ol>
      )}
      <div class="array-actions">
        <button
          type="button"
          class="small"
          disabled={form.disabled}
          aria-label={`Add an item to ${label}`}
          onClick={add}
        >
          Add
        </button>
        {items !== undefined && fallback !== undefined ? (
          <button
            type="button"
            class="link-button"
            disabled={form.disabled}
            aria-label={`Use the default of ${label}`}
            onClick={() => form.change(path, undefined)}
          >
            Use default
          </button>
        ) : null}
      </div>
    </fieldset>
  );
}

function newItem(item: FieldKind): Primitive {
  if (item.kind === 'enum') return item.options[0] ?? '';
  if (item.kind === 'boolean') return false;
  if (item.kind === 'number' || item.kind === 'integer') {
    const { schema } = item;
    return typeof schema.default === 'number' ? schema.default : (schema.minimum ?? 0);
  }
  return typeof item.schema.default === 'string' ? item.schema.default : '';
}
