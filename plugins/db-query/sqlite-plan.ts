import type { SqliteDatabase } from '../../src/index.ts';
import { dbQueryErrors } from './errors.ts';
import type { RelationRead } from './table-allow-list.ts';

/**
 * The tables a SQLite statement reads, as SQLite's own compiled program says: every `OpenRead`
 * opens a table or index b-tree by its root page, which `sqlite_schema` maps to its table. This
 * sees through views, subqueries and CTEs (they compile to reads of the real tables), covering
 * indexes (mapped to their table) and `sqlite_schema` itself (root page 1), with no SQL parser
 * to fool. `EXPLAIN QUERY PLAN` would name aliases instead, so the bytecode is used.
 */

/** SQLite's opcode flag saying p2 is a register, not a root page (then the b-tree is not known in advance). */
const OPFLAG_P2ISREG = 0x02;

interface Instruction {
  readonly opcode: string;
  readonly p2: number;
  readonly p3: number;
  readonly p5: number;
}

/**
 * Every relation `sql` would read, on `database` (the read-only handle the query runs on).
 *
 * @example
 * ```ts
 * sqliteRelationsRead(db, 'SELECT * FROM v_orders', []); // [{ schema: 'main', name: 'orders' }] for a view over orders
 * ```
 * @throws PlugboardError `db_query/TABLE_NOT_ALLOWED` for a virtual table or table-valued function
 *   (json_each, pragma_table_info …: their source cannot be told), `db_query/WRITE_REFUSED` for a write.
 */
export function sqliteRelationsRead(database: SqliteDatabase, sql: string, params: readonly unknown[]): RelationRead[] {
  const program = database.prepare(`EXPLAIN ${sql}`).all(...params) as Instruction[];
  const rootPages = new Map<number, string>([[1, 'sqlite_schema']]);
  const schema = database
    .prepare('SELECT rootpage, tbl_name FROM main.sqlite_schema WHERE rootpage > 0')
    .raw()
    .all() as [number, string][];
  for (const [page, table] of schema) rootPages.set(page, table);

  const relations: RelationRead[] = [];
  for (const { opcode, p2, p3, p5 } of program) {
    if (opcode === 'OpenWrite') throw dbQueryErrors.WRITE_REFUSED('The statement would write to the database');
    if (opcode === 'VOpen') {
      throw dbQueryErrors.TABLE_NOT_ALLOWED(
        'The query reads a virtual table or table-valued function (json_each, pragma_… or similar), which db_query does not allow: query the listed tables only',
      );
    }
    if (opcode !== 'OpenRead') continue;
    if (p3 !== 0) {
      relations.push({ schema: p3 === 1 ? 'temp' : `attached database #${p3}`, name: '(a table)' });
    } else if ((p5 & OPFLAG_P2ISREG) !== 0) {
      relations.push({ schema: 'main', name: '(a table chosen at run time)' });
    } else {
      relations.push({ schema: 'main', name: rootPages.get(p2) ?? `(an unknown table at root page ${p2})` });
    }
  }
  return relations;
}
