import type { ComponentChildren } from 'preact';
import { showDefault } from './form-api.ts';
import type { FieldKind } from './json-schema.ts';

/** The words under a field: its description, its default and bounds — what the schema says. */
export function FieldHelp(props: {
  readonly id: string;
  readonly field: FieldKind;
  readonly children?: ComponentChildren;
}) {
  const { schema } = props.field;
  const facts = helpFacts(props.field);
  if (schema.description === undefined && facts.length === 0 && props.children === undefined) return null;
  return (
    <p class="field-help" id={props.id}>
      {schema.description === undefined ? null : <span>{schema.description} </span>}
      {facts.length === 0 ? null : <span class="field-facts">({facts.join('; ')})</span>}
      {props.children}
    </p>
  );
}

/** True when FieldHelp shows anything for `field` (so that aria-describedby names only what exists). */
export function hasHelp(field: FieldKind): boolean {
  return field.schema.description !== undefined || helpFacts(field).length > 0;
}

function helpFacts(field: FieldKind): string[] {
  const facts: string[] = [];
  // A select names its default in its first option, a JSON field below itself: said once.
  const saysItsDefault = field.kind === 'object' || field.kind === 'enum' || field.kind === 'json';
  if (field.schema.default !== undefined && !saysItsDefault) facts.push(`default ${showDefault(field.schema.default)}`);
  const range = rangeOf(field);
  if (range !== undefined) facts.push(range);
  return facts;
}

/** The messages at a field: the server's words and the form's checks. */
export function FieldErrors(props: { readonly id: string; readonly messages: readonly string[] }) {
  if (props.messages.length === 0) return null;
  return (
    <ul class="field-errors" id={props.id}>
      {props.messages.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

function rangeOf(field: FieldKind): string | undefined {
  const { schema } = field;
  if (field.kind === 'number' || field.kind === 'integer') {
    const low = schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : `> ${schema.exclusiveMinimum}`);
    const high = schema.maximum ?? (schema.exclusiveMaximum === undefined ? undefined : `< ${schema.exclusiveMaximum}`);
    const kind = field.kind === 'integer' ? 'whole number' : 'number';
    if (low === undefined && high === undefined) return kind;
    if (low !== undefined && high !== undefined && typeof low === 'number' && typeof high === 'number')
      return `${kind}, ${low} – ${high}`;
    return [
      kind,
      low === undefined ? undefined : typeof low === 'number' ? `≥ ${low}` : low,
      high === undefined ? undefined : typeof high === 'number' ? `≤ ${high}` : high,
    ]
      .filter(Boolean)
      .join(', ');
  }
  if (field.kind === 'string' && (schema.minLength !== undefined || schema.maxLength !== undefined)) {
    if (schema.minLength === 1 && schema.maxLength === undefined) return 'not empty';
    return `${schema.minLength ?? 0} – ${schema.maxLength ?? '∞'} characters`;
  }
  if (field.kind === 'array' && (schema.minItems !== undefined || schema.maxItems !== undefined))
    return `${schema.minItems ?? 0} – ${schema.maxItems ?? '∞'} items`;
  return undefined;
}
