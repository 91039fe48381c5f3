import { formatPath, type KeyPath, parseIssuePath, pathKey } from './value-path.ts';

/** A problem with a value, as the server reports it (`issues` of a 400) or the form finds it. */
export interface FieldIssue {
  readonly path: KeyPath;
  readonly message: string;
}

/** Messages per field (by `pathKey`), and those that name no field of the form. */
export interface PlacedIssues {
  readonly byField: Readonly<Record<string, readonly string[]>>;
  readonly unplaced: readonly string[];
}

/**
 * Puts each issue next to the field whose path it names — or, for a path inside a field the
 * form shows as a whole (a JSON field, a list), next to that field, saying where inside
 * (`[0].pattern: …`). Issues of the config as a whole, or of keys the form has no field for,
 * are `unplaced`: the form shows them above its fields.
 *
 * @example
 * ```ts
 * placeIssues([{ path: ['custom', 0, 'pattern'], message: 'matches the empty string' }], new Set([pathKey(['custom'])]));
 * // byField: { '["custom"]': ['[0].pattern: matches the empty string'] }
 * ```
 */
export function placeIssues(issues: readonly FieldIssue[], fields: ReadonlySet<string>): PlacedIssues {
  const byField: Record<string, string[]> = {};
  const unplaced: string[] = [];
  for (const issue of issues) {
    let placed = false;
    for (let length = issue.path.length; length > 0; length--) {
      const key = pathKey(issue.path.slice(0, length));
      if (!fields.has(key)) continue;
      const inside = formatPath(issue.path.slice(length));
      const message = inside === '' ? issue.message : `${inside.startsWith('[') ? '' : '.'}${inside}: ${issue.message}`;
      byField[key] = [...(byField[key] ?? []), message];
      placed = true;
      break;
    }
    if (!placed) unplaced.push(issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`);
  }
  return { byField, unplaced };
}

/** The `issues` of a 400 body (`{ error: { issues: [{ path, message }] } }`), however the path is written. */
export function issuesFromBody(body: unknown): FieldIssue[] {
  const error = (body as { error?: { issues?: unknown } } | undefined)?.error;
  const issues = error?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((issue: unknown) => {
    if (issue === null || typeof issue !== 'object') return [];
    const { path, message } = issue as { path?: unknown; message?: unknown };
    return typeof message === 'string' ? [{ path: parseIssuePath(path), message }] : [];
  });
}
