import { sql } from 'kysely';
import type { SqlDatabase } from './sql-database.ts';

/**
 * Whether vector ranking on this PostgreSQL can use pgvector: the server has the extension
 * (`pg_available_extensions`), and it is installed in the database or we may install it. Never
 * throws: without it (or without the right to create it) the store ranks by its own SQL cosine
 * over `real[]`, exact and only slower. Always false on SQLite.
 *
 * @example
 * ```ts
 * database.pgvector = await detectPgvector(database);
 * ```
 */
export async function detectPgvector(database: SqlDatabase): Promise<boolean> {
  if (database.dialect !== 'postgres') return false;
  const db = database.db;
  const available = await sql`select 1 from pg_available_extensions where name = 'vector'`.execute(db);
  if (available.rows.length === 0) return false;
  try {
    await sql`create extension if not exists vector`.execute(db);
  } catch {
    // No right to create it: the SQL cosine it is.
  }
  const installed = await sql`select 1 from pg_extension where extname = 'vector'`.execute(db);
  return installed.rows.length > 0;
}
