/**
 * The keys file: a JSON or YAML document of hashed API keys, read by the plugin and written by
 * `plugboard keys create|list|revoke` (src/cli/keys-command.ts). It holds no key, only hashes.
 *
 * ```yaml
 * keys:
 *   - id: ci-bot
 *     hash: sha256:9f86d0…
 *     scopes: [chat, models]
 *     models: ['llama*']
 *     created_at: 2026-01-31T12:00:00.000Z
 * ```
 *
 * This module imports nothing of Plugboard's runtime (only zod and yaml), so the CLI can load
 * it on its own.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { instantSchema, keyHashSchema, keyIdSchema, scopeListSchema } from './config.ts';
import { generateKey, hashKey } from './key-hash.ts';
import type { Scope } from './scopes.ts';

/** One key as the file stores it. */
export const keyRecordSchema = z.strictObject({
  id: keyIdSchema,
  hash: keyHashSchema,
  scopes: scopeListSchema,
  models: z.array(z.string().min(1)).min(1).optional(),
  description: z.string().optional(),
  created_at: instantSchema.optional(),
  expires_at: instantSchema.optional(),
  disabled: z.boolean().optional(),
  revoked_at: instantSchema.optional(),
});
export type KeyRecord = z.output<typeof keyRecordSchema>;

const documentSchema = z.strictObject({ keys: z.array(keyRecordSchema) });

/** A keys file that cannot be read or used; the message names the file and what is wrong. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/**
 * Parses a keys document: JSON for a `.json` file or text starting with `{`, YAML otherwise.
 * Ids must be unique. @throws KeyFileError naming `path` and each problem (never a hash).
 *
 * @example
 * ```ts
 * const records = parseKeysDocument(await readFile(path, 'utf8'), path);
 * ```
 */
export function parseKeysDocument(text: string, path: string): KeyRecord[] {
  let value: unknown;
  try {
    value = isJson(path, text) ? JSON.parse(text) : parse(text);
  } catch (error) {
    throw new KeyFileError(`${path}: not valid ${isJson(path, text) ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  const parsed = documentSchema.safeParse(value ?? { keys: [] });
  if (!parsed.success) {
    // zod's messages name the path and the rule; the received values (hashes) are not quoted.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new KeyFileError(`${path}: ${problems.join('; ')}`);
  }
  const seen = new Set<string>();
  for (const record of parsed.data.keys) {
    if (seen.has(record.id)) throw new KeyFileError(`${path}: the key id "${record.id}" appears twice`);
    seen.add(record.id);
  }
  return parsed.data.keys;
}

/**
 * Reads and parses a keys file. @throws KeyFileError when it is missing, unreadable or invalid.
 *
 * @example
 * ```ts
 * const records = await readKeysFile('/etc/plugboard/keys.yaml');
 * ```
 */
export async function readKeysFile(path: string): Promise<KeyRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new KeyFileError(`${path}: cannot read the keys file (${why})`);
  }
  return parseKeysDocument(text, path);
}

/**
 * Writes the keys file atomically (a temporary file renamed over it), readable by its owner
 * only, as JSON for a `.json` path and YAML otherwise.
 *
 * @example
 * ```ts
 * await writeKeysFile(path, [...records, record]);
 * ```
 */
export async function writeKeysFile(path: string, records: readonly KeyRecord[]): Promise<void> {
  const document = { keys: records };
  const text = isJson(path, '') ? `${JSON.stringify(document, null, 2)}\n` : stringify(document);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** What `plugboard keys create` is given. */
export interface NewKey {
  readonly id: string;
  readonly scopes: readonly Scope[];
  readonly models?: readonly string[];
  readonly expiresAt?: string;
  readonly description?: string;
  /** With a pepper, the file stores the HMAC of the key (the plugin needs the same `pepper_env`). */
  readonly pepper?: string;
}

/**
 * Adds a new key to the file (created if missing) and returns the key itself: the only time it
 * exists outside the caller's hands. @throws KeyFileError for a taken id or an invalid field.
 *
 * @example
 * ```ts
 * const { key } = await createKey('keys.yaml', { id: 'ci-bot', scopes: ['chat'] });
 * ```
 */
export async function createKey(path: string, request: NewKey): Promise<{ key: string; record: KeyRecord }> {
  const records = (await exists(path)) ? await readKeysFile(path) : [];
  if (records.some((record) => record.id === request.id)) {
    throw new KeyFileError(`${path}: a key with id "${request.id}" already exists (ids stay taken after a revoke)`);
  }
  const key = generateKey();
  const candidate = {
    id: request.id,
    hash: hashKey(key, request.pepper),
    scopes: [...request.scopes],
    ...(request.models === undefined ? {} : { models: [...request.models] }),
    ...(request.description === undefined ? {} : { description: request.description }),
    created_at: new Date().toISOString(),
    ...(request.expiresAt === undefined ? {} : { expires_at: request.expiresAt }),
  };
  const checked = keyRecordSchema.safeParse(candidate);
  if (!checked.success) {
    throw new KeyFileError(checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  await writeKeysFile(path, [...records, checked.data]);
  return { key, record: checked.data };
}

/** A key as `plugboard keys list` shows it: everything but its hash. */
export interface KeySummary {
  readonly id: string;
  readonly scopes: readonly Scope[];
  readonly models: readonly string[] | undefined;
  readonly createdAt: string | undefined;
  readonly expiresAt: string | undefined;
  readonly status: 'active' | 'disabled' | 'expired';
}

/**
 * The keys of a file, without their hashes.
 *
 * @example
 * ```ts
 * for (const key of await listKeys('keys.yaml')) console.log(key.id, key.status);
 * ```
 */
export async function listKeys(path: string, now = Date.now()): Promise<KeySummary[]> {
  return (await readKeysFile(path)).map((record) => ({
    id: record.id,
    scopes: record.scopes,
    models: record.models,
    createdAt: record.created_at,
    expiresAt: record.expires_at,
    status: record.disabled
      ? 'disabled'
      : record.expires_at !== undefined && Date.parse(record.expires_at) <= now
        ? 'expired'
        : 'active',
  }));
}

/**
 * Revokes a key: it stays in the file, `disabled` with the time of the revoke, so its id is not
 * reused and the file keeps a record. A running plugin refuses it within `keys_file_check_ms`.
 *
 * @example
 * ```ts
 * await revokeKey('keys.yaml', 'ci-bot');
 * ```
 */
export async function revokeKey(path: string, id: string): Promise<KeyRecord> {
  const records = await readKeysFile(path);
  const index = records.findIndex((record) => record.id === id);
  if (index < 0) throw new KeyFileError(`${path}: no key with id "${id}"`);
  const revoked: KeyRecord = { ...records[index]!, disabled: true, revoked_at: new Date().toISOString() };
  await writeKeysFile(path, records.with(index, revoked));
  return revoked;
}

function isJson(path: string, text: string): boolean {
  return extname(path).toLowerCase() === '.json' || text.trimStart().startsWith('{');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
