import { isPlugboardError, PlugboardError } from '../../src/index.ts';
import type { SqlDatabase } from './sql-database.ts';

/**
 * Runs one store operation; a database failure becomes `STORE_FAILED` naming the database and
 * the operation (a PlugboardError, e.g. a refused argument, passes through unchanged).
 *
 * @example
 * ```ts
 * return guard(this.#database, 'append', () => this.#append(principal, id, batch));
 * ```
 */
export async function guard<T>(database: SqlDatabase, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isPlugboardError(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new PlugboardError('STORE_FAILED', `${database.description}: ${operation} failed: ${reason}`, {
      cause: error,
    });
  }
}
