import type { FieldIssue } from './field-issues.ts';
import { type FieldKind, fieldKind, type JsonSchema, mustBeGiven } from './json-schema.ts';
import { getAt, type KeyPath, pathKey } from './value-path.ts';

/**
 * The checks the form makes before it sends anything: required keys, types, enum members,
 * bounds (numbers, text lengths, list lengths). The rest — patterns, rules across keys, what
 * a JSON field holds — is the server's: it validates with the plugin's own schema, and its
 * messages land next to the fields they name.
 *
 * @example
 * ```ts
 * checkConfig({ type: 'object', properties: { window: { type: 'integer', minimum: 16 } } }, { window: 4 });
 * // [{ path: ['window'], message: 'must be at least 16' }]
 * ```
 */
export function checkConfig(root: JsonSchema, value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  check(fieldKind(root, root), root, value, [], issues);
  return issues;
}

/**
 * Every path the form has a field for (objects' fieldsets included), as `pathKey`s: where
 * issues can be shown.
 */
export function fieldPaths(root: JsonSchema, value: unknown): Set<string> {
  const paths = new Set<string>();
  const visit = (field: FieldKind, path: KeyPath) => {
    paths.add(pathKey(path));
    if (field.kind === 'object') {
      for (const [key, child] of Object.entries(field.schema.properties ?? {}))
        visit(fieldKind(child, root), [...path, key]);
    } else if (field.kind === 'array') {
      const items = getAt(value, path);
      if (Array.isArray(items)) for (let index = 0; index < items.length; index++) paths.add(pathKey([...path, index]));
    }
  };
  visit(fieldKind(root, root), []);
  return paths;
}

function check(field: FieldKind, root: JsonSchema, value: unknown, path: KeyPath, issues: FieldIssue[]): void {
  if (value === undefined) return;
  if (value === null) {
    if (!field.nullable && field.kind !== 'json') issues.push({ path, message: 'must not be empty (null)' });
    return;
  }
  if (field.kind === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path, message: 'expected an object' });
      return;
    }
    for (const [key, child] of Object.entries(field.schema.properties ?? {})) {
      const childValue = (value as Record<string, unknown>)[key];
      if (childValue === undefined && mustBeGiven(field.schema, key, child))
        issues.push({ path: [...path, key], message: 'required' });
      else check(fieldKind(child, root), root, childValue, [...path, key], issues);
    }
    return;
  }
  if (field.kind === 'array') {
    const { minItems, maxItems } = field.schema;
    if (!Array.isArray(value)) {
      issues.push({ path, message: 'expected a list' });
      return;
    }
    if (minItems !== undefined && value.length < minItems)
      issues.push({ path, message: `needs at least ${minItems} item(s)` });
    if (maxItems !== undefined && value.length > maxItems)
      issues.push({ path, message: `takes at most ${maxItems} item(s)` });
    value.forEach((item, index) => {
      check(field.item, root, item, [...path, index], issues);
    });
    return;
  }
  const problem = scalarProblem(field, value);
  if (problem !== undefined) issues.push({ path, message: problem });
}

/** What is wrong with a scalar value, if anything. */
function scalarProblem(field: FieldKind, value: unknown): string | undefined {
  const { schema } = field;
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string') return 'expected text';
      if (schema.minLength !== undefined && value.length < schema.minLength)
        return schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        return `must be at most ${schema.maxLength} characters`;
      return undefined;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'expected a number';
      if (field.kind === 'integer' && !Number.isInteger(value)) return 'expected a whole number';
      if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
      if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
        return `must be more than ${schema.exclusiveMinimum}`;
      if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
        return `must be less than ${schema.exclusiveMaximum}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'expected true or false';
    case 'enum':
      return field.options.includes(value as never) ? undefined : `expected one of ${field.options.join(', ')}`;
    default:
      // JSON fields: what they hold is the server's to check.
      return undefined;
  }
}
