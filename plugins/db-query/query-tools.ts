import { z } from 'zod';
import { defineTool, type ToolSpec } from '../../src/index.ts';
import type { DatabaseEntry } from './config.ts';
import type { DatabaseRunner } from './database-runner.ts';
import { dbQueryErrors } from './errors.ts';

/** One configured database: its tool-facing name, its entry, and how to run queries on it. */
export interface QueryableDatabase {
  readonly name: string;
  readonly entry: DatabaseEntry;
  readonly runner: DatabaseRunner;
}

/** Time the tool loop allows beyond the longest statement timeout: taking a pooled client, the plan, the fetch. */
const TOOL_TIMEOUT_MARGIN_MS = 5000;

const queryParam = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * The `db_query` and `db_schema` tools over the configured databases. Their descriptions name
 * each database, its dialect's placeholders, its tables and its row limit, so that the model
 * knows what it may ask without a first call.
 *
 * @example
 * ```ts
 * registry.register('db_query', createQueryTools([{ name: 'shop', entry, runner }]));
 * ```
 */
export function createQueryTools(databases: readonly QueryableDatabase[]): ToolSpec[] {
  const byName = new Map(databases.map((database) => [database.name, database]));
  const find = (name: string): QueryableDatabase => {
    const database = byName.get(name);
    if (database === undefined) {
      throw dbQueryErrors.UNKNOWN_DATABASE(
        `There is no database "${name}"; the databases are: ${[...byName.keys()].join(', ')}`,
      );
    }
    return database;
  };
  const names = [...byName.keys()].join(', ');
  const timeoutMs = Math.max(...databases.map((database) => database.entry.timeout_ms)) + TOOL_TIMEOUT_MARGIN_MS;

  const query = defineTool({
    name: 'db_query',
    description: [
      'Runs ONE read-only SQL query (SELECT, or WITH … SELECT) on a database and returns JSON { columns, rows, truncated }.',
      "Put every value in `params` and refer to it with the database's placeholders; never write values into the SQL text.",
      'Only the tables listed may be read; writes, other tables, system catalogues and several statements are refused.',
      'Call db_schema for the columns. Databases:',
      ...databases.map(describeDatabase),
    ].join('\n'),
    input: z.strictObject({
      database: z.string().describe(`The database to query: one of ${names}`),
      sql: z.string().min(1).max(20_000).describe('One SELECT statement, with placeholders for the values'),
      params: z.array(queryParam).max(100).default([]).describe('The values of the placeholders, in order'),
    }),
    timeoutMs,
    run: async ({ database, sql, params }, { signal }) => {
      const result = await find(database).runner.query(sql, params, signal);
      return { columns: [...result.columns], rows: result.rows.map((row) => [...row]), truncated: result.truncated };
    },
  });

  const schema = defineTool({
    name: 'db_schema',
    description: [
      'Lists the columns (name, type, nullable, primary key) of the tables db_query may read. Databases:',
      ...databases.map(describeDatabase),
    ].join('\n'),
    input: z.strictObject({
      database: z.string().optional().describe(`One of ${names}; all of them when left out`),
    }),
    timeoutMs,
    run: async ({ database }, { signal }) => {
      const chosen = database === undefined ? databases : [find(database)];
      const described = [];
      for (const { name, entry, runner } of chosen) {
        const tables = await runner.describe(signal);
        described.push({
          name,
          dialect: runner.dialect,
          description: entry.description,
          placeholders: runner.placeholders,
          row_limit: entry.row_limit,
          tables: tables.map((table) => ({ ...table, columns: table.columns.map((column) => ({ ...column })) })),
        });
      }
      return { databases: described };
    },
  });
  return [query, schema];
}

function describeDatabase({ name, entry, runner }: QueryableDatabase): string {
  const dialect = runner.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  const about = entry.description === '' ? '' : ` ${entry.description.trim()}`;
  return `- ${name} (${dialect}, placeholders ${runner.placeholders}, at most ${entry.row_limit} rows):${about} Tables: ${entry.tables.join(', ')}.`;
}
