/**
 * db_query on a real SQLite file, through a real PluginManager with the connections service:
 * the registered tools are run as the tool loop runs them. Every safety layer is exercised on
 * its own (keyword, SQLite's `readonly` verdict, the read-only handle, the plan's tables), and
 * after each refused write the data is checked to be unchanged.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { assertRefused, type DbQueryHarness, startDbQuery } from './testing/harness.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-db-query-sqlite-'));
const FILE = path.join(dir, 'shop.db');

/** customers, orders (250 rows), a `secret` table, views over both, a 64-bit integer and a BLOB. */
function createShop(): void {
  const db = new Database(FILE);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, big INTEGER, photo BLOB);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), total REAL);
    CREATE INDEX orders_customer ON orders(customer_id);
    CREATE TABLE secret (token TEXT);
    CREATE VIEW secret_view AS SELECT token FROM secret;
    CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
    INSERT INTO secret VALUES ('s3cr3t-token');
    INSERT INTO customers (id, name, big, photo) VALUES (1, 'Ada', 4611686018427387904, x'cafe'), (2, 'Bob', 7, NULL);
  `);
  const insert = db.prepare('INSERT INTO orders (customer_id, total) VALUES (?, ?)');
  for (let index = 0; index < 250; index++) insert.run((index % 2) + 1, index);
  db.close();
}

/** What a write attempt could have changed: row counts, the schema, user_version. */
function snapshot(): string {
  const db = new Database(FILE, { readonly: true });
  try {
    return JSON.stringify({
      customers: db.prepare('SELECT * FROM customers ORDER BY id').raw().all(),
      orders: db.prepare('SELECT count(*), sum(total) FROM orders').raw().get(),
      secret: db.prepare('SELECT * FROM secret').raw().all(),
      schema: db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').raw().all(),
      userVersion: db.pragma('user_version', { simple: true }),
    });
  } finally {
    db.close();
  }
}

let harness: DbQueryHarness;
let before_: string;

before(async () => {
  createShop();
  before_ = snapshot();
  harness = await startDbQuery(
    { data_dir: dir, sqlite: { shop: { file: 'shop.db' } } },
    {
      databases: {
        shop: {
          connection: 'shop',
          tables: ['customers', 'orders'],
          description: 'A small shop',
          row_limit: 100,
          timeout_ms: 50,
        },
      },
    },
  );
});

after(async () => {
  await harness?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const query = (sql: string, params: unknown[] = []) => harness.query({ database: 'shop', sql, params });

describe('permitted queries', () => {
  test('a SELECT with params binds them and answers { columns, rows, truncated }', async () => {
    const result = await query('SELECT id, name FROM customers WHERE name = ? OR id = ?', ['Bob', 99]);
    assert.deepEqual(result, { columns: ['id', 'name'], rows: [[2, 'Bob']], truncated: false });
  });

  test('a JOIN of allowed tables, through an index, with an aggregate', async () => {
    const result = await query(
      `SELECT c.name, count(*) AS n FROM customers c JOIN orders o ON o.customer_id = c.id
        WHERE o.total >= ? GROUP BY c.name ORDER BY c.name`,
      [200],
    );
    assert.deepEqual(result, {
      columns: ['name', 'n'],
      rows: [
        ['Ada', 25],
        ['Bob', 25],
      ],
      truncated: false,
    });
  });

  test('a CTE over allowed tables, and a comment before the statement, are fine', async () => {
    const result = await query('-- newest\n/* orders */ WITH o AS (SELECT * FROM orders) SELECT max(id) FROM o');
    assert.deepEqual(result, { columns: ['max(id)'], rows: [[250]], truncated: false });
  });

  test('values JSON cannot hold are converted: a 64-bit integer to a string, a BLOB to base64', async () => {
    const result = await query('SELECT big, photo FROM customers ORDER BY id');
    assert.deepEqual(result, {
      columns: ['big', 'photo'],
      rows: [
        ['4611686018427387904', { base64: 'yv4=' }],
        [7, null],
      ],
      truncated: false,
    });
  });

  test('the row limit: row_limit rows and truncated: true when there are more', async () => {
    const many = (await query('SELECT id FROM orders ORDER BY id')) as { rows: unknown[][]; truncated: boolean };
    assert.equal(many.rows.length, 100);
    assert.equal(many.truncated, true);
    assert.deepEqual(many.rows.at(-1), [100]);
    const exact = (await query('SELECT id FROM orders ORDER BY id LIMIT 100')) as { truncated: boolean };
    assert.equal(exact.truncated, false, 'exactly row_limit rows is not truncated');
  });

  test('SQL injection through params stays data', async () => {
    for (const attack of ["x' OR '1'='1", "'; DROP TABLE customers; --", '1 OR 1=1']) {
      const result = await query('SELECT id FROM customers WHERE name = ?', [attack]);
      assert.deepEqual(result, { columns: ['id'], rows: [], truncated: false }, attack);
    }
    assert.equal(snapshot(), before_, 'nothing changed');
  });
});

describe('writes are refused, and nothing changes', () => {
  const writes = [
    "INSERT INTO customers (name) VALUES ('Eve')",
    "UPDATE customers SET name = 'Eve'",
    'DELETE FROM orders',
    'DROP TABLE secret',
    'CREATE TABLE evil (x)',
    'CREATE TEMP TABLE evil (x)',
    'PRAGMA user_version = 42',
    "ATTACH DATABASE '/tmp/plugboard-db-query-evil.db' AS evil",
    "REPLACE INTO customers (id, name) VALUES (1, 'Eve')",
    'VACUUM',
    'BEGIN IMMEDIATE',
  ];
  for (const sql of writes) {
    test(sql, async () => {
      await assertRefused(query(sql), 'db_query/WRITE_REFUSED', /Only a single read-only query/);
      assert.equal(snapshot(), before_, 'nothing changed');
    });
  }

  test("layer 3: a write that starts like a query (WITH … INSERT) is refused on SQLite's readonly verdict", async () => {
    await assertRefused(
      query("WITH x AS (SELECT 1) INSERT INTO customers (name) SELECT 'Eve' FROM x"),
      'db_query/WRITE_REFUSED',
      /SQLite says the statement would change the database/,
    );
    assert.equal(snapshot(), before_, 'nothing changed');
  });

  test('layer 4: queries run on a handle of their own, opened read-only: SQLite itself refuses a write on it', async () => {
    const { SqliteQueryRunner } = await import('./sqlite-query-runner.ts');
    const shared = new Database(FILE); // read-write, as the connections service opens it
    const runner = SqliteQueryRunner.open('shop', shared, {
      connection: 'shop',
      tables: ['customers'],
      description: '',
      row_limit: 10,
      timeout_ms: 1000,
    });
    try {
      assert.notEqual(runner.handle, shared, 'not the shared handle');
      assert.equal(runner.handle.readonly, true, 'opened read-only');
      assert.throws(
        () => runner.handle.prepare("INSERT INTO customers (name) VALUES ('Eve')").run(),
        (error: { code?: string }) => error.code === 'SQLITE_READONLY',
      );
    } finally {
      runner.close();
      shared.close();
    }
    assert.equal(snapshot(), before_, 'nothing changed');
  });
});

describe('tables outside the list are refused', () => {
  const reads: [string, RegExp][] = [
    ['SELECT * FROM secret', /"secret"/],
    ['SELECT name, (SELECT token FROM secret) FROM customers', /"secret"/],
    ['SELECT * FROM customers WHERE name IN (SELECT token FROM secret)', /"secret"/],
    ['SELECT * FROM secret_view', /"secret"/],
    ['WITH s AS (SELECT * FROM secret) SELECT * FROM s', /"secret"/],
    ['WITH s AS MATERIALIZED (SELECT * FROM secret) SELECT * FROM customers, s', /"secret"/],
    ['SELECT * FROM sqlite_master', /"sqlite_schema"/],
    ['SELECT sql FROM sqlite_schema', /"sqlite_schema"/],
    ['SELECT * FROM temp.sqlite_master', /temp/],
    ["SELECT * FROM pragma_table_info('secret')", /virtual table or table-valued function/],
    ["SELECT value FROM json_each('[1,2]')", /virtual table or table-valued function/],
  ];
  for (const [sql, names] of reads) {
    test(sql, async () => {
      await assertRefused(query(sql), 'db_query/TABLE_NOT_ALLOWED', names);
    });
  }

  test('the message names the refused table and the allowed ones', async () => {
    await assertRefused(
      query('SELECT * FROM secret'),
      'db_query/TABLE_NOT_ALLOWED',
      /allowed tables are: customers, orders/,
    );
  });

  test('a view over allowed tables is checked by what it reads, and passes', async () => {
    const result = (await query('SELECT count(*) FROM big_orders')) as { rows: unknown[][] };
    assert.deepEqual(result.rows, [[149]]);
  });
});

describe('other refusals', () => {
  test('multiple statements', async () => {
    await assertRefused(query('SELECT 1; DELETE FROM orders'), 'db_query/MULTIPLE_STATEMENTS');
    await assertRefused(query('SELECT 1; SELECT 2'), 'db_query/MULTIPLE_STATEMENTS');
    assert.equal(snapshot(), before_, 'nothing changed');
  });

  test('a trailing semicolon is one statement', async () => {
    assert.deepEqual(await query('SELECT 1 AS one;'), { columns: ['one'], rows: [[1]], truncated: false });
  });

  test("the database's own error for a bad query reaches the model, coded", async () => {
    await assertRefused(query('SELECT nope FROM customers'), 'db_query/QUERY_FAILED', /no such column: nope/);
    await assertRefused(query('SELECT * FROM customers WHERE id = ?', []), 'db_query/QUERY_FAILED', /parameters/);
  });

  test('an unknown database', async () => {
    await assertRefused(
      harness.query({ database: 'shoop', sql: 'SELECT 1' }),
      'db_query/UNKNOWN_DATABASE',
      /the databases are: shop/,
    );
  });

  test('the timeout, checked between rows (each row made slow on purpose by a test-only SQL function)', async () => {
    // better-sqlite3 cannot interrupt a statement: db_query checks the time between rows. A
    // function registered here on a second read-only handle would not be seen by the plugin's
    // handle, so this test builds its own runner on the same file to register the slow function.
    const { SqliteQueryRunner } = await import('./sqlite-query-runner.ts');
    const shared = new Database(FILE, { readonly: true });
    const runner = SqliteQueryRunner.open('shop', shared, {
      connection: 'shop',
      tables: ['orders'],
      description: '',
      row_limit: 1000,
      timeout_ms: 5,
    });
    try {
      runner.handle.function('slow', () => {
        const until = Date.now() + 10;
        while (Date.now() < until) {
          // each row takes longer than the whole timeout
        }
        return 1;
      });
      await assertRefused(
        runner.query('SELECT slow() FROM orders', [], new AbortController().signal),
        'db_query/TIMEOUT',
        /longer than 5 ms/,
      );
    } finally {
      runner.close();
      shared.close();
    }
  });
});

describe('the tools', () => {
  test('the descriptions name the databases, their tables and placeholders', () => {
    const description = harness.tool('db_query').description;
    assert.match(description, /- shop \(SQLite, placeholders \?/);
    assert.match(description, /A small shop Tables: customers, orders\./);
    assert.match(harness.tool('db_schema').description, /shop/);
    assert.deepEqual(Object.keys((harness.tool('db_query').parameters as { properties: object }).properties), [
      'database',
      'sql',
      'params',
    ]);
  });

  test('db_schema describes the allowed tables only', async () => {
    const described = (await harness.schema({ database: 'shop' })) as {
      databases: { name: string; dialect: string; tables: { name: string; columns: { name: string }[] }[] }[];
    };
    const [shop] = described.databases;
    assert.equal(shop?.dialect, 'sqlite');
    assert.deepEqual(
      shop?.tables.map((table) => table.name),
      ['customers', 'orders'],
    );
    assert.deepEqual(shop?.tables[0], {
      name: 'customers',
      exists: true,
      columns: [
        { name: 'id', type: 'INTEGER', nullable: false, primary_key: true },
        { name: 'name', type: 'TEXT', nullable: false, primary_key: false },
        { name: 'big', type: 'INTEGER', nullable: true, primary_key: false },
        { name: 'photo', type: 'BLOB', nullable: true, primary_key: false },
      ],
    });
    assert.ok(!JSON.stringify(described).includes('secret'), 'no word of the other tables');
  });

  test('bad arguments are refused by the schema, naming the field', async () => {
    await assertRefused(harness.query({ database: 'shop' }), 'TOOL_ARGUMENTS_INVALID', /sql/);
    await assertRefused(
      harness.query({ database: 'shop', sql: 'SELECT ?', params: [{ nested: 1 }] }),
      'TOOL_ARGUMENTS_INVALID',
      /params/,
    );
  });
});
