import { ArrayField } from './array-field.tsx';
import { FieldErrors, FieldHelp, hasHelp } from './field-help.tsx';
import { type FormApi, fieldId, labelOf } from './form-api.ts';
import { JsonField } from './json-field.tsx';
import { type FieldKind, fieldKind, mustBeGiven } from './json-schema.ts';
import { ScalarInput } from './scalar-input.tsx';
import { isSecretPath } from './secret-names.ts';
import { getAt, type KeyPath } from './value-path.ts';

/**
 * The field of one key, by what its schema says it holds: a fieldset of fields (objects), an
 * input (text, number, checkbox, select), a list with add/remove (arrays of scalars), or a
 * JSON text field (anything else).
 */
export function SchemaField(props: {
  readonly form: FormApi;
  readonly field: FieldKind;
  readonly path: KeyPath;
  readonly required: boolean;
}) {
  const { form, field, path } = props;
  const key = path[path.length - 1] ?? '';
  // The root is a field of its own only when the plugin declares no schema (JSON).
  const label = path.length === 0 ? 'config' : labelOf(key, field.schema);
  const id = fieldId(form, path);
  const errors = form.errorsAt(path);
  const value = getAt(form.draft, path);
  const helpId = `${id}-help`;
  const errorsId = `${id}-errors`;
  const describedBy = [errors.length > 0 ? errorsId : '', hasHelp(field) ? helpId : ''].filter(Boolean).join(' ');

  if (field.kind === 'object') {
    const children = Object.entries(field.schema.properties ?? {}).map(([childKey, childSchema]) => (
      <SchemaField
        key={childKey}
        form={form}
        field={fieldKind(childSchema, form.root)}
        path={[...path, childKey]}
        required={mustBeGiven(field.schema, childKey, childSchema)}
      />
    ));
    if (path.length === 0)
      return (
        <div class="config-fields">
          <FieldErrors id={errorsId} messages={errors} />
          {children}
        </div>
      );
    return (
      <fieldset class="config-fieldset" id={id} aria-describedby={describedBy || undefined}>
        <legend>{label}</legend>
        <FieldHelp id={helpId} field={field} />
        <FieldErrors id={errorsId} messages={errors} />
        <div class="config-fields">{children}</div>
      </fieldset>
    );
  }
  if (field.kind === 'array')
    return <ArrayField form={form} field={field} path={path} label={label} id={id} describedBy={describedBy} />;
  if (field.kind === 'json')
    return (
      <JsonField
        form={form}
        field={field}
        path={path}
        label={label}
        id={id}
        describedBy={describedBy}
        required={props.required}
      />
    );

  const checkbox = field.kind === 'boolean';
  const input = (
    <ScalarInput
      field={field}
      value={value}
      id={id}
      describedBy={describedBy || undefined}
      invalid={errors.length > 0}
      disabled={form.disabled}
      secret={isSecretPath(path)}
      required={props.required}
      onChange={(next) => form.change(path, next)}
      onInputError={(message) => form.setInputError(path, message)}
    />
  );
  return (
    <div class={`config-field ${checkbox ? 'config-field-checkbox' : ''} ${errors.length > 0 ? 'has-errors' : ''}`}>
      {checkbox ? (
        <label for={id}>
          {input}
          <span>
            {label}
            {value === undefined ? <span class="muted"> (default)</span> : null}
          </span>
        </label>
      ) : (
        <>
          <label for={id}>
            {label}
            {props.required ? <span aria-hidden="true"> *</span> : null}
          </label>
          {input}
        </>
      )}
      {value !== undefined && field.schema.default !== undefined && !props.required ? (
        <button
          type="button"
          class="link-button"
          disabled={form.disabled}
          aria-label={`Use the default of ${label}`}
          onClick={() => {
            form.setInputError(path, undefined);
            form.change(path, undefined);
          }}
        >
          Use default
        </button>
      ) : null}
      <FieldHelp id={helpId} field={field} />
      {value === REDACTED ? (
        <p class="field-help">A secret, hidden by the server: left as it is, it keeps its value.</p>
      ) : null}
      <FieldErrors id={errorsId} messages={errors} />
    </div>
  );
}

/** How the server shows a secret's value (GET /admin/plugins/:name/config); sent back as is, the secret stays. */
const REDACTED = '[redacted]';
