import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';

/**
 * The JSON Schema of a plugin's config, computed where the schema lives (the sandboxed process)
 * so the server can show the dashboard's form and check a config before sending it. The same
 * rule as the admin API's (`server/admin/plugin-config-schema.ts`), without zod's own converter:
 * zod 4 schemas implement Standard JSON Schema.
 */
export function configJsonSchemaOf(schema: StandardSchemaV1 | undefined): Record<string, unknown> | null {
  if (schema === undefined) return null;
  const standard = schema['~standard'] as StandardSchemaV1.Props & Partial<StandardJSONSchemaV1.Props>;
  const zodOptions = standard.vendor === 'zod' ? { libraryOptions: { unrepresentable: 'any' } } : {};
  try {
    return standard.jsonSchema?.input({ target: 'draft-2020-12', ...zodOptions }) ?? null;
  } catch {
    return null;
  }
}
