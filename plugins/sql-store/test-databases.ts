/**
 * For the tests: a PostgreSQL database of their own on the real server at 127.0.0.1:5432
 * (user postgres, trust auth), created with a random name and dropped after, and a temporary
 * folder for SQLite files.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const POSTGRES_SERVER = 'postgres://postgres@127.0.0.1:5432';

/**
 * A fresh database `plugboard_sqlstore_<random>`; `drop()` removes it, closing whatever is
 * still connected to it.
 *
 * @example
 * ```ts
 * const scratch = await createScratchDatabase();
 * const pool = new pg.Pool({ connectionString: scratch.url });
 * after(() => scratch.drop());
 * ```
 */
export async function createScratchDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `plugboard_sqlstore_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  return { name, url: `${POSTGRES_SERVER}/${name}`, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${POSTGRES_SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A temporary folder for SQLite files; `remove()` deletes it.
 *
 * @example
 * ```ts
 * const folder = scratchFolder('plugboard-sql-store-');
 * after(() => folder.remove());
 * ```
 */
export function scratchFolder(prefix: string): { path: string; remove(): void } {
  const made = mkdtempSync(path.join(tmpdir(), prefix));
  return { path: made, remove: () => rmSync(made, { recursive: true, force: true }) };
}
