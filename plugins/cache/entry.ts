import type { JsonObject, Usage } from '../../src/index.ts';

/** Why a cached reply ended: only these are stored (see `cache_truncated`). */
export type StoredFinish = 'stop' | 'length';

/**
 * One cache entry: the model's raw reply to a request — its text before output processors
 * (a hit passes them as a fresh reply does), its reasoning, the token usage the backend
 * reported, and why it ended.
 */
export interface CachedReply {
  readonly content: string;
  readonly thinking?: string;
  readonly usage?: Usage;
  readonly finishReason: StoredFinish;
  /** When it was stored (ms since the epoch): a hit's `age` header. */
  readonly storedAt: number;
}

/**
 * The entry as JSON, the form it has in a shared store and the one whose UTF-8 size is
 * checked against `max_entry_bytes` (and counted against `memory_max_bytes`).
 */
export function entryJson(entry: CachedReply): JsonObject {
  return {
    v: 1,
    content: entry.content,
    ...(entry.thinking === undefined ? {} : { thinking: entry.thinking }),
    ...(entry.usage === undefined
      ? {}
      : { usage: { prompt: entry.usage.promptTokens, completion: entry.usage.completionTokens } }),
    finish: entry.finishReason,
    at: entry.storedAt,
  };
}

/** The size of an entry in bytes: its JSON's UTF-8 length. */
export function entryBytes(json: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(json), 'utf8');
}

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * An entry read back from a shared store, or `undefined` when it is not one this version
 * wrote (another version's format, a foreign value under the same key): read as a miss, never
 * served half-understood.
 */
export function parseEntry(value: unknown): CachedReply | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const json = value as Record<string, unknown>;
  if (json.v !== 1 || typeof json.content !== 'string' || !isCount(json.at)) return undefined;
  if (json.finish !== 'stop' && json.finish !== 'length') return undefined;
  if (json.thinking !== undefined && typeof json.thinking !== 'string') return undefined;
  let usage: Usage | undefined;
  if (json.usage !== undefined) {
    const counts = json.usage as Record<string, unknown> | null;
    if (typeof counts !== 'object' || counts === null || !isCount(counts.prompt) || !isCount(counts.completion)) {
      return undefined;
    }
    usage = { promptTokens: counts.prompt, completionTokens: counts.completion };
  }
  return {
    content: json.content,
    ...(json.thinking === undefined ? {} : { thinking: json.thinking as string }),
    ...(usage === undefined ? {} : { usage }),
    finishReason: json.finish,
    storedAt: json.at,
  };
}
