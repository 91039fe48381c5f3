import { dbQueryErrors } from './errors.ts';
import type { RelationRead } from './table-allow-list.ts';

/**
 * The relations a PostgreSQL statement reads, from its plan (`EXPLAIN (VERBOSE, FORMAT JSON)`):
 * every scan node names its relation and schema, after the planner expanded views, inlined
 * CTEs and subqueries, so a view over a disallowed table, `pg_catalog.pg_class` or an
 * `information_schema` view (built on pg_catalog) all show as what they really read.
 *
 * Not seen: relations read inside a function's body (a plan shows a `Function Scan` or a call
 * in an expression, not what the function does). The `role` setting is the guard there.
 */

interface PlanNode {
  readonly 'Node Type'?: string;
  readonly 'Relation Name'?: string;
  readonly Schema?: string;
  readonly Plans?: readonly PlanNode[];
}

/**
 * The relations read by the plan EXPLAIN returned (its single row's `QUERY PLAN` value).
 *
 * @example
 * ```ts
 * const { rows } = await client.query({ text: `EXPLAIN (VERBOSE, FORMAT JSON) ${sql}`, values, queryMode: 'extended' });
 * postgresRelationsRead(rows[0]['QUERY PLAN']); // [{ schema: 'public', name: 'orders' }]
 * ```
 * @throws PlugboardError `db_query/WRITE_REFUSED` when the plan modifies a table.
 */
export function postgresRelationsRead(explained: unknown): RelationRead[] {
  const roots = Array.isArray(explained) ? (explained as { Plan?: PlanNode }[]) : [];
  if (roots.length === 0) throw new Error('EXPLAIN returned no plan');
  const relations: RelationRead[] = [];
  const visit = (node: PlanNode): void => {
    if (node['Node Type'] === 'ModifyTable') {
      throw dbQueryErrors.WRITE_REFUSED('The statement would change the database; only read-only queries run');
    }
    const name = node['Relation Name'];
    if (name !== undefined) relations.push({ schema: node.Schema, name });
    for (const child of node.Plans ?? []) visit(child);
  };
  for (const root of roots) if (root.Plan !== undefined) visit(root.Plan);
  return relations;
}
