/**
 * The first layer of db_query's read-only rule: the statement must start (after comments,
 * white space and opening parentheses) with a keyword that begins a query. It refuses INSERT,
 * PRAGMA, ATTACH, COPY, SET … early with a clear message; the layers after it (a read-only
 * handle or transaction, better-sqlite3's `readonly`, PostgreSQL's DECLARE CURSOR) do not trust
 * it, and catch what starts like a query but writes (`WITH … INSERT`, `SELECT … INTO`).
 */

/** The keywords a read-only query may start with. */
const QUERY_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);

/** How the dialect writes comments: PostgreSQL nests block comments, SQLite does not. */
export interface CommentRules {
  readonly nestedBlockComments: boolean;
}

/**
 * The statement's first keyword, upper-cased, or undefined when it starts with something else
 * (or with nothing).
 *
 * @example
 * ```ts
 * leadingKeyword('  -- top customers\n(select * from customers)', { nestedBlockComments: true }); // 'SELECT'
 * ```
 */
export function leadingKeyword(sql: string, rules: CommentRules): string | undefined {
  let at = 0;
  while (at < sql.length) {
    const char = sql[at]!;
    if (/\s/.test(char) || char === '(') {
      at += 1;
    } else if (sql.startsWith('--', at)) {
      const end = sql.indexOf('\n', at);
      at = end === -1 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', at)) {
      at = afterBlockComment(sql, at, rules.nestedBlockComments);
    } else {
      const word = /^[A-Za-z]+/.exec(sql.slice(at))?.[0];
      return word === undefined ? undefined : word.toUpperCase();
    }
  }
  return undefined;
}

/** True when the statement starts like a query (SELECT, WITH, VALUES, TABLE). */
export function startsLikeQuery(sql: string, rules: CommentRules): boolean {
  const keyword = leadingKeyword(sql, rules);
  return keyword !== undefined && QUERY_KEYWORDS.has(keyword);
}

function afterBlockComment(sql: string, start: number, nested: boolean): number {
  let depth = 0;
  let at = start;
  while (at < sql.length) {
    if (sql.startsWith('/*', at)) {
      depth = nested ? depth + 1 : 1;
      at += 2;
    } else if (sql.startsWith('*/', at)) {
      depth -= 1;
      at += 2;
      if (depth === 0) return at;
    } else {
      at += 1;
    }
  }
  return sql.length; // an unterminated comment: nothing follows it
}
