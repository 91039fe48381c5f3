import type { Document, LineCounter } from 'yaml';
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { describe } from '../core/plugin/structure-check.ts';
import { closestMatch } from '../core/util/closest-match.ts';
import { isSecretKey, REDACTED } from '../core/util/redact.ts';
import { type ConfigPath, pathKey } from './env-substitution.ts';

/** One problem found in a configuration file, with its exact location. */
export interface ConfigIssue {
  readonly severity: 'error' | 'warning';
  readonly file: string | undefined;
  /** 1-based line and column of the offending value (or key), when known. */
  readonly line?: number;
  readonly column?: number;
  /** Dotted key path (`backends.ollama.priority`); empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** The plugin entry the issue belongs to, if any. */
  readonly plugin?: string;
  /**
   * What kind of problem it is, for code that must tell them apart (never the message text):
   * `syntax` (the YAML cannot be read), `empty` (a file with nothing in it), `env-missing`
   * (an unset `${VAR}`); absent for the rest.
   */
  readonly rule?: 'syntax' | 'empty' | 'env-missing';
}

/** `plugins/config.yaml:12:5: backends.ollama.priority: expected … found …` */
export function formatIssue(issue: ConfigIssue): string {
  const where = [issue.file ?? '<config>', issue.line, issue.column].filter((part) => part !== undefined).join(':');
  return `${where}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** Finds where a key path sits in the YAML source. */
export class YamlLocator {
  constructor(
    private readonly document: Document | undefined,
    private readonly lines: LineCounter | undefined,
  ) {}

  /**
   * Line and column of the value at `path`; of the key itself when `key` is true (for
   * unknown keys); of the deepest existing ancestor when the path does not exist.
   */
  locate(path: ConfigPath, key = false): { line: number; column: number } | undefined {
    if (this.document === undefined || this.lines === undefined) return undefined;
    let node: unknown = this.document.contents;
    let offset = rangeStart(node);
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (pair === undefined) break;
        if (last && key) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        node = pair.value;
        offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        offset = rangeStart(node) ?? offset;
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const position = this.lines.linePos(offset);
    return { line: position.line, column: position.col };
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** Paths (see `pathKey`) whose value came from the environment → the variables that supplied it. */
export type SubstitutedPaths = ReadonlyMap<string, readonly string[]>;

/**
 * How a message shows the value found at `path` when it must not show it: `[redacted] (from
 * ${VAR})` for a value the environment supplied, `[redacted]` for the value of a secret-named key
 * (`admin_token`, `api_key` …); undefined for a value that may be shown.
 */
export function hiddenValue(path: ConfigPath, value: unknown, substituted?: SubstitutedPaths): string | undefined {
  if (value === undefined || value === null || value === '' || typeof value === 'object') return undefined;
  const variables = substituted?.get(pathKey(path));
  if (variables !== undefined) return `${REDACTED} (from ${variables.map((name) => `\${${name}}`).join(', ')})`;
  const key = path.at(-1);
  return typeof key === 'string' && isSecretKey(key) ? REDACTED : undefined;
}

/** `describe(value)` (`string "x"`, `number 5`), or its type and {@link hiddenValue} when it must not be shown. */
export function describeFound(path: ConfigPath, value: unknown, substituted?: SubstitutedPaths): string {
  const hidden = hiddenValue(path, value, substituted);
  return hidden === undefined ? describe(value) : `${typeof value} ${hidden}`;
}

/** Dotted form of a path. */
export function dotted(path: ConfigPath): string {
  return path.map(String).join('.');
}

/**
 * Turns a zod issue into a located, readable ConfigIssue: what was expected, what was found,
 * and a "did you mean" for misspelt keys and enum values.
 */
export function fromZodIssue(
  issue: z.core.$ZodIssue,
  basePath: ConfigPath,
  data: unknown,
  schema: z.ZodType,
  context: { file: string | undefined; locator: YamlLocator; plugin?: string; substituted?: SubstitutedPaths },
): ConfigIssue[] {
  const path = [...basePath, ...(issue.path as (string | number)[])];
  const found = valueAt(data, issue.path as (string | number)[]);
  // A secret, or a value from the environment, is never shown: only its type and source.
  const shown = (value: unknown) => describeFound(path, value, context.substituted);
  const make = (atPath: ConfigPath, message: string, key = false): ConfigIssue => ({
    severity: 'error',
    file: context.file,
    ...context.locator.locate(atPath, key),
    path: dotted(atPath),
    message,
    ...(context.plugin === undefined ? {} : { plugin: context.plugin }),
  });
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, issue.path as (string | number)[]);
      return issue.keys.map((unknownKey) => {
        const guess = closestMatch(unknownKey, known);
        return make(
          [...path, unknownKey],
          `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}; allowed keys: ${known.join(', ') || 'none'}`,
          true,
        );
      });
    }
    case 'invalid_value': {
      const options = issue.values.map((value) => JSON.stringify(value));
      const guess = typeof found === 'string' ? closestMatch(found, issue.values.map(String)) : undefined;
      return [
        make(
          path,
          `expected one of ${options.join(', ')}, found ${shown(found)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
        ),
      ];
    }
    case 'invalid_type':
      return [
        make(
          path,
          `expected ${issue.expected}, found ${found === undefined ? 'nothing (the key is required)' : shown(found)}`,
        ),
      ];
    default:
      return [
        make(
          path,
          `${issue.message}${found === undefined || typeof found === 'object' ? '' : `, found ${shown(found)}`}`,
        ),
      ];
  }
}

/** The value at `path` inside `data`. */
export function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** The keys an object schema at `path` inside `schema` allows (for suggestions). */
function knownKeys(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let current: unknown = schema;
  for (const segment of [...path, undefined]) {
    current = unwrap(current);
    const def = (current as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (def === undefined) return [];
    if (segment === undefined) return def.type === 'object' ? Object.keys(def.shape as object) : [];
    if (def.type === 'object') current = (def.shape as Record<string, unknown>)[segment];
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'array') current = def.element;
    else return [];
  }
  return [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 10; depth++) {
    const def = (current as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (def === undefined) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
  return current;
}
