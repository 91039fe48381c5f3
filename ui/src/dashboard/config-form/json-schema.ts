/**
 * The part of JSON Schema (draft 2020-12) the configuration form reads, and how it maps a
 * schema to a kind of field. What the form cannot show as plain inputs — unions (anyOf,
 * oneOf), records, arrays of objects, tuples — becomes a JSON text field for that key, which
 * the server validates like any other.
 */

export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly title?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly patternProperties?: Readonly<Record<string, JsonSchema>>;
  readonly items?: JsonSchema | boolean;
  readonly prefixItems?: readonly JsonSchema[];
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
  readonly readOnly?: boolean;
}

export type Primitive = string | number | boolean;

/** How a key is edited. */
export type FieldKind =
  | { readonly kind: 'object'; readonly schema: JsonSchema; readonly nullable: boolean }
  | { readonly kind: 'string'; readonly schema: JsonSchema; readonly nullable: boolean }
  | { readonly kind: 'number' | 'integer'; readonly schema: JsonSchema; readonly nullable: boolean }
  | { readonly kind: 'boolean'; readonly schema: JsonSchema; readonly nullable: boolean }
  | {
      readonly kind: 'enum';
      readonly schema: JsonSchema;
      readonly options: readonly Primitive[];
      readonly nullable: boolean;
    }
  | { readonly kind: 'array'; readonly schema: JsonSchema; readonly item: FieldKind; readonly nullable: boolean }
  | { readonly kind: 'json'; readonly schema: JsonSchema; readonly nullable: boolean };

const SCALAR_KINDS = new Set(['string', 'number', 'integer', 'boolean', 'enum']);

/**
 * Follows a local `$ref` (`#/$defs/Name`, `#/definitions/Name`) in `root`; other schemas as
 * they are. An unresolvable reference is any value (`{}`: a JSON field).
 */
export function resolveRef(schema: JsonSchema, root: JsonSchema, depth = 0): JsonSchema {
  if (schema.$ref === undefined) return schema;
  if (depth > 20) return {};
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(schema.$ref);
  const name =
    match?.[2] === undefined ? undefined : decodeURIComponent(match[2].replace(/~1/g, '/').replace(/~0/g, '~'));
  const target = name === undefined ? undefined : (match?.[1] === '$defs' ? root.$defs : root.definitions)?.[name];
  if (target === undefined) return {};
  // Keywords beside $ref (a description, a default) describe this use of the definition.
  const { $ref: _ref, ...beside } = schema;
  return resolveRef({ ...target, ...beside }, root, depth + 1);
}

/**
 * The field for a schema.
 *
 * @example
 * ```ts
 * fieldKind({ type: 'integer', minimum: 16 }, root).kind;              // 'integer'
 * fieldKind({ type: 'string', enum: ['a', 'b'] }, root).kind;          // 'enum'
 * fieldKind({ anyOf: [{ type: 'string' }, { type: 'null' }] }, root);  // string, nullable
 * fieldKind({ type: 'array', items: { type: 'object' } }, root).kind;  // 'json'
 * ```
 */
export function fieldKind(input: JsonSchema, root: JsonSchema, depth = 0): FieldKind {
  const schema = resolveRef(input, root);
  const json: FieldKind = { kind: 'json', schema, nullable: false };
  if (depth > 12 || schema.allOf !== undefined) return json;

  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) {
    const branches = union.map((branch) => resolveRef(branch, root));
    const nonNull = branches.filter((branch) => !isNullSchema(branch));
    const nullable = nonNull.length < branches.length;
    // A union of constants is a choice.
    const constants = nonNull.flatMap((branch) => constantsOf(branch) ?? [undefined]);
    if (nonNull.length > 0 && constants.every(isPrimitive))
      return { kind: 'enum', schema, options: constants, nullable };
    const [only] = nonNull;
    if (nonNull.length === 1 && only !== undefined) {
      const inner = fieldKind({ ...only, ...keepDocs(schema) }, root, depth + 1);
      return { ...inner, nullable: inner.nullable || nullable } as FieldKind;
    }
    return json;
  }

  const constants = constantsOf(schema);
  if (constants !== undefined) {
    const options = constants.filter(isPrimitive);
    return options.length === 0 ? json : { kind: 'enum', schema, options, nullable: constants.includes(null) };
  }

  const types = typeof schema.type === 'string' ? [schema.type] : (schema.type ?? []);
  const nonNullTypes = types.filter((type) => type !== 'null');
  const nullable = nonNullTypes.length < types.length;
  if (nonNullTypes.length !== 1) return { ...json, nullable };
  const type = nonNullTypes[0];
  switch (type) {
    case 'string':
    case 'boolean':
      return { kind: type, schema, nullable };
    case 'number':
    case 'integer':
      return { kind: type, schema, nullable };
    case 'object': {
      // Known keys only (additionalProperties absent or false): a fieldset. A record (extra keys
      // of some schema) has keys the form cannot know: JSON.
      const extra = schema.additionalProperties;
      const closed = extra === undefined || extra === false;
      if (schema.properties === undefined || !closed || schema.patternProperties !== undefined)
        return { ...json, nullable };
      return { kind: 'object', schema, nullable };
    }
    case 'array': {
      if (schema.prefixItems !== undefined || typeof schema.items !== 'object') return { ...json, nullable };
      const item = fieldKind(schema.items, root, depth + 1);
      if (!SCALAR_KINDS.has(item.kind) || item.nullable) return { ...json, nullable };
      return { kind: 'array', schema, item, nullable };
    }
    default:
      return { ...json, nullable };
  }
}

/** The default a field falls back to when the config leaves it out. */
export function defaultOf(schema: JsonSchema): unknown {
  return schema.default;
}

/** True when the key must be given: required, and no default fills it in. */
export function mustBeGiven(parent: JsonSchema, key: string, child: JsonSchema): boolean {
  return (parent.required ?? []).includes(key) && child.default === undefined;
}

function constantsOf(schema: JsonSchema): readonly unknown[] | undefined {
  if (schema.enum !== undefined) return schema.enum;
  if ('const' in schema) return [schema.const];
  return undefined;
}

function isNullSchema(schema: JsonSchema): boolean {
  return (
    schema.type === 'null' ||
    (schema.enum?.length === 1 && schema.enum[0] === null) ||
    ('const' in schema && schema.const === null)
  );
}

function isPrimitive(value: unknown): value is Primitive {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function keepDocs(schema: JsonSchema): Partial<JsonSchema> {
  return {
    ...(schema.title === undefined ? {} : { title: schema.title }),
    ...(schema.description === undefined ? {} : { description: schema.description }),
    ...(schema.default === undefined ? {} : { default: schema.default }),
  };
}
