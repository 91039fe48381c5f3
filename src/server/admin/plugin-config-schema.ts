import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { toJSONSchema, type ZodType } from 'zod';
import { valueAt } from '../../config/config-issue.ts';
import { coerce, setAt } from '../../config/load-config.ts';
import type { ConfigKeyPath } from '../../config/submitted-config.ts';

/** One problem with a submitted plugin config, where the form shows it: the key path and what is wrong. */
export interface PluginConfigIssue {
  /** Keys from the config's root (`["actions", "email"]`); empty for the config as a whole. */
  readonly path: ConfigKeyPath;
  readonly message: string;
}

/**
 * The JSON Schema (draft 2020-12) of what a plugin's `config` accepts, for a form to be built
 * from; null when the plugin declares no schema or its library cannot describe it. Any
 * Standard JSON Schema works (zod 4, and others that implement it); a zod schema describes the
 * parts JSON Schema cannot (a `z.instanceof`, a `z.custom`) as `{}`, any value.
 *
 * @example
 * ```ts
 * configJsonSchema(z.object({ topK: z.number().int().default(4) }));
 * // { $schema: '…/draft/2020-12/schema', type: 'object', properties: { topK: { type: 'integer', default: 4, … } } }
 * ```
 */
export function configJsonSchema(schema: StandardSchemaV1 | undefined): Record<string, unknown> | null {
  if (schema === undefined) return null;
  const standard = schema['~standard'] as StandardSchemaV1.Props & Partial<StandardJSONSchemaV1.Props>;
  const zodOptions = standard.vendor === 'zod' ? { libraryOptions: { unrepresentable: 'any' } } : {};
  try {
    const converted = standard.jsonSchema?.input({ target: 'draft-2020-12', ...zodOptions });
    if (converted !== undefined) return converted;
  } catch {
    // Not describable this way: try the library's own converter.
  }
  if (standard.vendor === 'zod') {
    try {
      return toJSONSchema(schema as unknown as ZodType, {
        target: 'draft-2020-12',
        io: 'input',
        unrepresentable: 'any',
      }) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Validates a plugin config with the plugin's schema, as loading the file would: a string that
 * stands for a whole `${VAR}` reference (`coercible`) may be coerced to the number or boolean
 * the schema wants. Returns the issues, one per offending key (an unknown key is reported at
 * itself); none when the config is valid.
 */
export async function pluginConfigIssues(
  schema: StandardSchemaV1 | undefined,
  config: Readonly<Record<string, unknown>>,
  coercible: (path: ConfigKeyPath) => boolean,
): Promise<PluginConfigIssue[]> {
  if (schema === undefined) return [];
  let value: unknown = config;
  for (let attempt = 0; attempt < 20; attempt++) {
    const outcome = await schema['~standard'].validate(value);
    if (outcome.issues === undefined) return [];
    let changed = false;
    for (const issue of outcome.issues) {
      const path = keysOf(issue);
      const current = valueAt(value, path);
      if (typeof current !== 'string' || !coercible(path)) continue;
      const coerced = coerce(current, 'number') ?? coerce(current, 'boolean');
      if (coerced === undefined) continue;
      value = setAt(value, path, coerced);
      changed = true;
    }
    if (!changed) return outcome.issues.flatMap(issuesOf);
  }
  return [{ path: [], message: 'the config does not settle on valid values' }];
}

function issuesOf(issue: StandardSchemaV1.Issue): PluginConfigIssue[] {
  const path = keysOf(issue);
  // zod's unrecognized_keys names the keys in `keys`, at their parent's path.
  const unknownKeys = (issue as { keys?: unknown }).keys;
  if (Array.isArray(unknownKeys) && unknownKeys.length > 0) {
    return unknownKeys.map((key) => ({ path: [...path, String(key)], message: `unknown key "${String(key)}"` }));
  }
  return [{ path, message: issue.message }];
}

function keysOf(issue: StandardSchemaV1.Issue): (string | number)[] {
  return (issue.path ?? []).map((segment) => {
    const key = typeof segment === 'object' ? segment.key : segment;
    return typeof key === 'number' ? key : String(key);
  });
}
