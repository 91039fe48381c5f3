import { candidateHashes, sameHash } from './key-hash.ts';
import { modelMatcher, type Scope } from './scopes.ts';

/** A key as the store knows it: everything needed to decide, nothing that could reveal the key. */
export interface StoredKey {
  readonly id: string;
  /** Its stored form, `sha256:<hex>` or `hmac-sha256:<hex>`. */
  readonly hash: string;
  readonly scopes: readonly Scope[];
  /** The model allow-list (exact names or `*` globs); absent: every model. */
  readonly models?: readonly string[];
  /** Milliseconds since the epoch after which the key is refused. */
  readonly expiresAt?: number;
  readonly disabled?: boolean;
  /** Where it was defined, for messages about duplicates: `config` or the keys file's path. */
  readonly source: string;
}

/** What a presented key turned out to be. */
export type KeyLookup =
  | { readonly status: 'valid'; readonly key: StoredKey; readonly allowsModel: (model: string) => boolean }
  | { readonly status: 'unknown' }
  | { readonly status: 'disabled'; readonly key: StoredKey }
  | { readonly status: 'expired'; readonly key: StoredKey };

interface Entry {
  readonly key: StoredKey;
  readonly allowsModel: (model: string) => boolean;
}

const EVERY_MODEL = () => true;

/**
 * An immutable set of API keys, looked up by the hash of the presented key.
 *
 * Timing: the presented key is hashed first, and only its digest is looked up in a Map. A
 * Map's lookup time may depend on how two strings compare — but here those strings are
 * SHA-256/HMAC digests, which an attacker cannot steer: learning that a guess's digest shares
 * a prefix with a stored digest tells nothing about any key (finding a key from its digest is a
 * preimage search). The hit is then confirmed with `timingSafeEqual`, and a miss costs the same
 * hashing as a hit. No key is ever compared character by character.
 *
 * @example
 * ```ts
 * const store = new KeyStore([{ id: 'ci', hash: hashKey(key), scopes: ['chat'], source: 'config' }]);
 * store.lookup(key); // { status: 'valid', key: … }
 * ```
 */
export class KeyStore {
  readonly #byHash = new Map<string, Entry>();

  /** @throws Error naming both sources when two keys share an id or a hash. */
  constructor(
    keys: readonly StoredKey[],
    private readonly pepper?: string,
  ) {
    const byId = new Map<string, StoredKey>();
    for (const key of keys) {
      const twin = byId.get(key.id);
      if (twin !== undefined)
        throw new Error(`the key id "${key.id}" is defined twice (${twin.source}, ${key.source})`);
      byId.set(key.id, key);
      if (this.#byHash.has(key.hash)) {
        const other = this.#byHash.get(key.hash)!.key;
        throw new Error(`the keys "${other.id}" and "${key.id}" have the same hash: one key used twice`);
      }
      if (key.hash.startsWith('hmac-') && pepper === undefined) {
        throw new Error(`the key "${key.id}" (${key.source}) is an hmac-sha256 hash, but no pepper_env is configured`);
      }
      const allowsModel = key.models === undefined ? EVERY_MODEL : modelMatcher(key.models);
      this.#byHash.set(key.hash, { key, allowsModel });
    }
  }

  /** How many keys the store holds (disabled and expired ones included). */
  get size(): number {
    return this.#byHash.size;
  }

  /**
   * Finds the key `presented` is, and whether it may be used at `now`.
   *
   * @example
   * ```ts
   * const found = store.lookup(token, Date.now());
   * if (found.status !== 'valid') return refuse(found);
   * ```
   */
  lookup(presented: string, now: number = Date.now()): KeyLookup {
    let found: Entry | undefined;
    for (const hash of candidateHashes(presented, this.pepper)) {
      const entry = this.#byHash.get(hash);
      if (entry !== undefined && sameHash(hash, entry.key.hash)) found = entry;
    }
    if (found === undefined) return { status: 'unknown' };
    const { key, allowsModel } = found;
    if (key.disabled === true) return { status: 'disabled', key };
    if (key.expiresAt !== undefined && now >= key.expiresAt) return { status: 'expired', key };
    return { status: 'valid', key, allowsModel };
  }
}
