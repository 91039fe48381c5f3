import { dbQueryErrors } from './errors.ts';

/** A relation a query reads, as the database's plan names it. */
export interface RelationRead {
  /** The schema (`public`, `pg_catalog`, SQLite's `main`), when the database says. */
  readonly schema?: string;
  readonly name: string;
}

/**
 * The tables one database lets the model read. Unqualified names in the configuration mean the
 * database's default schema (`public` on PostgreSQL, `main` on SQLite); names compare as the
 * database does (SQLite ignores case, PostgreSQL does not — unquoted names there are lower case).
 *
 * @example
 * ```ts
 * const allowed = new TableAllowList('shop', ['orders', 'customers'], { defaultSchema: 'public', ignoreCase: false });
 * allowed.check([{ schema: 'public', name: 'orders' }]); // fine
 * allowed.check([{ schema: 'pg_catalog', name: 'pg_class' }]); // throws db_query/TABLE_NOT_ALLOWED
 * ```
 */
export class TableAllowList {
  readonly #keys: Set<string>;

  constructor(
    readonly database: string,
    readonly tables: readonly string[],
    private readonly rules: { readonly defaultSchema: string; readonly ignoreCase: boolean },
  ) {
    this.#keys = new Set(
      tables.map((table) => this.#key(table.includes('.') ? splitQualified(table) : { name: table })),
    );
  }

  allows(relation: RelationRead): boolean {
    return this.#keys.has(this.#key(relation));
  }

  /** @throws PlugboardError `db_query/TABLE_NOT_ALLOWED` naming the first relation outside the list. */
  check(relations: Iterable<RelationRead>): void {
    for (const relation of relations) {
      if (this.allows(relation)) continue;
      const shown =
        relation.schema === undefined || relation.schema === this.rules.defaultSchema
          ? relation.name
          : `${relation.schema}.${relation.name}`;
      throw dbQueryErrors.TABLE_NOT_ALLOWED(
        `The query reads "${shown}" (directly, or through a view, subquery or CTE), which database "${this.database}" does not allow; the allowed tables are: ${this.tables.join(', ')}`,
      );
    }
  }

  #key(relation: RelationRead): string {
    const key = `${relation.schema ?? this.rules.defaultSchema}.${relation.name}`;
    return this.rules.ignoreCase ? key.toLowerCase() : key;
  }
}

function splitQualified(table: string): RelationRead {
  const dot = table.indexOf('.');
  return { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}
