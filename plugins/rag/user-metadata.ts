import { z } from 'zod';
import type { JsonScalar } from '../../src/index.ts';
import { ragErrors } from './errors.ts';

/**
 * Keys the rag plugin writes on every chunk: a user's metadata may not use them (a chunk's
 * `document` must be its document's, or replacing and deleting would miss it).
 */
export const RESERVED_KEYS = [
  'kind',
  'document',
  'name',
  'chunk',
  'revision',
  'start',
  'end',
  'page',
  'section',
] as const;

const MAX_KEYS = 32;
const MAX_STRING = 1024;

const userMetadataSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { error: 'keys are 1–64 letters, digits or "_"' }),
    z.union([z.string().max(MAX_STRING), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((metadata) => Object.keys(metadata).length <= MAX_KEYS, { error: `at most ${MAX_KEYS} keys` })
  .refine((metadata) => !RESERVED_KEYS.some((key) => Object.hasOwn(metadata, key)), {
    error: `these keys are the rag plugin's own: ${RESERVED_KEYS.join(', ')}`,
  });

/** A document's own metadata: flat, filterable with `filter` in searches. */
export type UserMetadata = Readonly<Record<string, JsonScalar>>;

/**
 * Checks the metadata a client gives a document: a flat object of at most 32 keys with
 * strings (≤ 1024 characters), numbers, booleans or null, none of them a reserved key.
 *
 * @example
 * ```ts
 * checkUserMetadata({ team: 'billing', year: 2024 }); // the same, frozen
 * ```
 * @throws PlugboardError `rag/INVALID_REQUEST` naming the problem.
 */
export function checkUserMetadata(metadata: unknown): UserMetadata {
  if (metadata === undefined) return Object.freeze({});
  const parsed = userMetadataSchema.safeParse(metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `metadata.${issue.path.join('.')}` : 'metadata';
    throw ragErrors.INVALID_REQUEST(
      `${where}: ${issue.message} (metadata is a flat JSON object of strings, numbers, booleans or null)`,
    );
  }
  return Object.freeze({ ...parsed.data });
}
