import type { FieldKind, Primitive } from './json-schema.ts';

/**
 * The input of one value: a text box, a number box (min/max/step from the schema), a checkbox,
 * or a select of the enum's members; a secret's text box shows dots. Empty means "leave the key out" (its default applies):
 * `onChange(undefined)`. A number box whose text is no number reports it with `onInputError`.
 */
export function ScalarInput(props: {
  readonly field: FieldKind;
  readonly value: unknown;
  readonly id: string;
  readonly describedBy: string | undefined;
  readonly invalid: boolean;
  readonly disabled: boolean;
  /** True when a value must be given (no "default" choice in a select). */
  readonly required: boolean;
  /** The accessible name when no <label> points at the input (list items). */
  readonly ariaLabel?: string;
  /** A secret (its key's name says so): typed as dots, never shown in clear once typed over `[redacted]`. */
  readonly secret?: boolean;
  readonly onChange: (value: unknown) => void;
  readonly onInputError: (message: string | undefined) => void;
}) {
  const { field } = props;
  const common = {
    id: props.id,
    disabled: props.disabled,
    'aria-invalid': props.invalid ? ('true' as const) : undefined,
    'aria-describedby': props.describedBy,
    ...(props.ariaLabel === undefined ? {} : { 'aria-label': props.ariaLabel }),
  };
  const fallback = field.schema.default;
  switch (field.kind) {
    case 'boolean':
      return (
        <input
          {...common}
          type="checkbox"
          checked={typeof props.value === 'boolean' ? props.value : fallback === true}
          onChange={(event) => props.onChange(event.currentTarget.checked)}
        />
      );
    case 'enum': {
      const index = field.options.indexOf(props.value as Primitive);
      const unset = props.value === undefined || props.value === null;
      return (
        <select
          {...common}
          value={unset ? '' : index >= 0 ? String(index) : 'other'}
          onChange={(event) => {
            const chosen = event.currentTarget.value;
            props.onChange(chosen === '' ? undefined : field.options[Number(chosen)]);
          }}
        >
          {props.required && fallback === undefined ? (
            <option value="" disabled={!unset}>
              — choose —
            </option>
          ) : (
            <option value="">{fallback === undefined ? '— not set —' : `— default (${String(fallback)}) —`}</option>
          )}
          {field.options.map((option: Primitive, position) => (
            <option key={String(option)} value={String(position)}>
              {String(option)}
            </option>
          ))}
          {!unset && index < 0 ? <option value="other">{String(props.value)} (not allowed)</option> : null}
        </select>
      );
    }
    case 'number':
    case 'integer':
      return <NumberInput {...props} common={common} />;
    default: {
      const text = {
        ...common,
        value: typeof props.value === 'string' ? props.value : props.value === undefined ? '' : String(props.value),
        placeholder: typeof fallback === 'string' ? fallback : '',
        ...(field.schema.maxLength === undefined ? {} : { maxLength: field.schema.maxLength }),
        spellcheck: false,
        onInput: (event: { readonly currentTarget: HTMLInputElement }) => {
          const typed = event.currentTarget.value;
          props.onChange(typed === '' ? undefined : typed);
        },
      };
      // A secret typed over `[redacted]` shows as dots; the browser must not offer to save it.
      return props.secret === true ? (
        <input {...text} type="password" autocomplete="new-password" />
      ) : (
        <input {...text} type="text" autocomplete="off" />
      );
    }
  }
}

/**
 * A number box (min, max and step from the schema). Its text is kept while it is not (yet) a
 * number — `1e` on the way to `1e3` — and reported as an input error rather than dropped.
 */
function NumberInput(props: {
  readonly field: FieldKind;
  readonly value: unknown;
  readonly common: Record<string, unknown>;
  readonly onChange: (value: unknown) => void;
  readonly onInputError: (message: string | undefined) => void;
}) {
  const { schema } = props.field;
  const integer = props.field.kind === 'integer';
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  return (
    <input
      {...props.common}
      type="number"
      inputMode={integer ? 'numeric' : 'decimal'}
      step={integer ? 1 : 'any'}
      {...(min === undefined ? {} : { min })}
      {...(max === undefined ? {} : { max })}
      value={typeof props.value === 'number' || typeof props.value === 'string' ? String(props.value) : ''}
      placeholder={typeof schema.default === 'number' ? String(schema.default) : ''}
      autocomplete="off"
      onInput={(event) => {
        const input = event.currentTarget;
        if (input.validity.badInput) {
          props.onInputError(integer ? 'expected a whole number' : 'expected a number');
          return;
        }
        props.onInputError(undefined);
        props.onChange(input.value.trim() === '' ? undefined : Number(input.value));
      }}
    />
  );
}
