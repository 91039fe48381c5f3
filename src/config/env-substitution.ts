/**
 * Environment substitution (spec §8.2) on the parsed configuration:
 * - `${VAR}` — required: a missing variable is an error at that value's location;
 * - `${VAR:default}` — the default when VAR is unset (empty defaults allowed: `${VAR:}`);
 * - `$${…}` — a literal `${…}`.
 * A value that is exactly one reference may be coerced later to the type the schema expects
 * (`"${OPENAI_TIMEOUT:60}"` → 60), so such paths are reported as `coercible`.
 * Which values the environment supplied is reported too (`sources`, `values`): messages name
 * the variable, never print its value, which may be a secret.
 */

/** A key path into the configuration. */
export type ConfigPath = readonly (string | number)[];

export interface SubstitutionProblem {
  readonly path: ConfigPath;
  readonly variable: string;
}

export interface SubstitutionResult {
  readonly value: unknown;
  readonly missing: readonly SubstitutionProblem[];
  /** Paths whose whole value came from one reference (may be coerced to number/boolean). */
  readonly coercible: ReadonlySet<string>;
  /**
   * Paths (see {@link pathKey}) whose value holds text from the environment → the variables
   * that supplied it. Such a value is never printed in a message: it may be a secret.
   */
  readonly sources: ReadonlyMap<string, readonly string[]>;
  /** Each variable the environment supplied → its value (to keep them out of messages). */
  readonly values: ReadonlyMap<string, string>;
}

const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}$/;

/** Substitutes every string in `value` (recursively) from `env`. Does not mutate `value`. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): SubstitutionResult {
  const missing: SubstitutionProblem[] = [];
  const coercible = new Set<string>();
  const sources = new Map<string, string[]>();
  const values = new Map<string, string>();
  const supplied = (path: ConfigPath, name: string, value: string): void => {
    const key = pathKey(path);
    const names = sources.get(key);
    if (names === undefined) sources.set(key, [name]);
    else if (!names.includes(name)) names.push(name);
    values.set(name, value);
  };
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') {
      if (!node.includes('${')) return node;
      const whole = WHOLE_REFERENCE.exec(node);
      if (whole !== null) {
        // The usual case, one reference and nothing else: no need for a replace.
        coercible.add(pathKey(path));
        const [, name, fallback] = whole as unknown as [string, string, string | undefined];
        const fromEnv = env[name];
        if (fromEnv !== undefined) {
          supplied(path, name, fromEnv);
          return fromEnv;
        }
        if (fallback !== undefined) return fallback;
        missing.push({ path, variable: name });
        return '';
      }
      return node.replace(REFERENCE, (reference, escaped: string, name: string, fallback: string | undefined) => {
        if (escaped) return reference.slice(1);
        const found = env[name];
        if (found !== undefined) {
          supplied(path, name, found);
          return found;
        }
        if (fallback !== undefined) return fallback;
        missing.push({ path, variable: name });
        return '';
      });
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node);
      for (const entry of entries) {
        // Only strings and containers can change (and need their path).
        if (typeof entry[1] === 'string' || (typeof entry[1] === 'object' && entry[1] !== null))
          entry[1] = walk(entry[1], [...path, entry[0]]);
      }
      return Object.fromEntries(entries);
    }
    return node;
  };
  return { value: walk(value, []), missing, coercible, sources, values };
}

/** A stable string for a path, for set membership. */
export function pathKey(path: ConfigPath): string {
  return JSON.stringify(path);
}
