/**
 * db_query on the real PostgreSQL (127.0.0.1:5432, user postgres, trust), in a database of its
 * own (plugboard_dbquery_<random>, dropped at the end), through a real PluginManager with the
 * connections service. The pool has two clients: were a refused query to leave its client
 * checked out, or inside its transaction, the tests after it would hang or fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { assertRefused, type DbQueryHarness, startDbQuery } from './testing/harness.ts';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const SUFFIX = randomBytes(4).toString('hex');
const DATABASE = `plugboard_dbquery_${SUFFIX}`;
const ROLE = `plugboard_dbquery_reader_${SUFFIX}`;
const URL_ = `postgres://postgres@127.0.0.1:5432/${DATABASE}`;

const SETUP = `
  CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, big bigint, price numeric(10,2),
                          joined timestamptz, photo bytea, tags text[], extra jsonb);
  CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), total int NOT NULL);
  CREATE TABLE secret (token text);
  CREATE VIEW secret_view AS SELECT token FROM secret;
  CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS $$ INSERT INTO orders (customer_id, total) VALUES (1, 0) RETURNING id $$;
  INSERT INTO secret VALUES ('s3cr3t-token');
  INSERT INTO customers (name, big, price, joined, photo, tags, extra) VALUES
    ('Ada', 9007199254740993, 12.50, '2024-05-01T10:00:00Z', '\\xcafe', '{a,b}', '{"vip": true}'),
    ('Bob', 7, 1.00, NULL, NULL, NULL, NULL);
  INSERT INTO orders (customer_id, total) SELECT 1 + (n % 2), n FROM generate_series(0, 249) AS n;
  CREATE ROLE ${ROLE} NOLOGIN;
  GRANT SELECT ON customers, orders TO ${ROLE};
`;

let admin: pg.Client;
let data: pg.Client;
let harness: DbQueryHarness;
let before_: string;
const warnings: string[] = [];

/** Everything a write attempt could have changed. */
async function snapshot(): Promise<string> {
  const rows = async (sql: string) => (await data.query(sql)).rows;
  return JSON.stringify({
    customers: await rows('SELECT id, name FROM customers ORDER BY id'),
    orders: await rows('SELECT count(*), sum(total) FROM orders'),
    sequence: await rows('SELECT last_value, is_called FROM orders_id_seq'),
    secret: await rows('SELECT * FROM secret'),
    tables: await rows("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY relname"),
  });
}

before(async () => {
  admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  data = new pg.Client(URL_);
  await data.connect();
  await data.query(SETUP);
  before_ = await snapshot();
  const logger = {
    debug: () => {},
    info: () => {},
    warn: (_fields: Record<string, unknown>, message?: string) => void warnings.push(message ?? ''),
    error: () => {},
    child: () => logger,
  };
  harness = await startDbQuery(
    { postgres: { main: { url: URL_, pool_size: 2 } } },
    {
      databases: {
        shop: { connection: 'main', tables: ['customers', 'orders'], row_limit: 100, timeout_ms: 200 },
        shop_reader: { connection: 'main', tables: ['public.customers'], role: ROLE },
      },
    },
    logger,
  );
});

after(async () => {
  await harness?.close();
  await data?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
});

const query = (sql: string, params: unknown[] = [], database = 'shop') => harness.query({ database, sql, params });

describe('permitted queries', () => {
  test('a SELECT with params binds them', async () => {
    assert.deepEqual(await query('SELECT id, name FROM customers WHERE name = $1 OR id = $2', ['Bob', 99]), {
      columns: ['id', 'name'],
      rows: [[2, 'Bob']],
      truncated: false,
    });
  });

  test('a JOIN of allowed tables, with an aggregate', async () => {
    const result = await query(
      `SELECT c.name, count(*)::int AS n FROM customers c JOIN orders o ON o.customer_id = c.id
        WHERE o.total >= $1 GROUP BY c.name ORDER BY c.name`,
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

  test('values JSON cannot hold are converted; duplicate column names are kept', async () => {
    const result = await query(
      'SELECT big, price, joined, photo, tags, extra, c.id, o.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 1 ORDER BY o.id DESC LIMIT 1',
    );
    assert.deepEqual(result, {
      columns: ['big', 'price', 'joined', 'photo', 'tags', 'extra', 'id', 'id'],
      rows: [
        [
          '9007199254740993',
          '12.50',
          '2024-05-01T10:00:00.000Z',
          { base64: 'yv4=' },
          ['a', 'b'],
          { vip: true },
          1,
          249,
        ],
      ],
      truncated: false,
    });
  });

  test('the row limit: row_limit rows, truncated: true when there are more', async () => {
    const many = (await query('SELECT id FROM orders ORDER BY id')) as { rows: unknown[][]; truncated: boolean };
    assert.equal(many.rows.length, 100);
    assert.equal(many.truncated, true);
    const exact = (await query('SELECT id FROM orders ORDER BY id LIMIT 100')) as { truncated: boolean };
    assert.equal(exact.truncated, false);
  });

  test('SQL injection through params stays data', async () => {
    for (const attack of ["x' OR '1'='1", "'; DROP TABLE customers; --"]) {
      assert.deepEqual(await query('SELECT id FROM customers WHERE name = $1', [attack]), {
        columns: ['id'],
        rows: [],
        truncated: false,
      });
    }
    assert.equal(await snapshot(), before_, 'nothing changed');
  });

  test('functions are allowed (pg_sleep, lower, now): they are not tables', async () => {
    const result = (await query("SELECT pg_sleep(0)::text AS slept, lower('ABC') AS l")) as { rows: unknown[][] };
    assert.deepEqual(result.rows, [['', 'abc']]);
  });
});

describe('writes are refused, and nothing changes', () => {
  const refusedByKeyword = [
    "INSERT INTO customers (name) VALUES ('Eve')",
    "UPDATE customers SET name = 'Eve'",
    'DELETE FROM orders',
    'DROP TABLE secret',
    'CREATE TABLE evil (x int)',
    'COPY orders TO STDOUT',
    "COPY (SELECT * FROM secret) TO '/tmp/plugboard-db-query-evil'",
    'TRUNCATE orders',
    'SET statement_timeout = 0',
    'BEGIN',
    'LOCK TABLE orders',
  ];
  for (const sql of refusedByKeyword) {
    test(sql, async () => {
      await assertRefused(query(sql), 'db_query/WRITE_REFUSED', /Only a single read-only query/);
      assert.equal(await snapshot(), before_, 'nothing changed');
    });
  }

  test('the plan layer: a CTE with INSERT (a ModifyTable node)', async () => {
    await assertRefused(
      query("WITH x AS (INSERT INTO customers (name) VALUES ('Eve') RETURNING id) SELECT * FROM x"),
      'db_query/WRITE_REFUSED',
      /would change the database/,
    );
    assert.equal(await snapshot(), before_, 'nothing changed');
  });

  test('the DECLARE CURSOR layer: SELECT … INTO', async () => {
    await assertRefused(query('SELECT * INTO evil FROM orders'), 'db_query/WRITE_REFUSED', /INTO is not allowed/);
    assert.equal(await snapshot(), before_, 'nothing changed');
  });

  for (const sql of ["SELECT nextval('orders_id_seq')", "SELECT setval('orders_id_seq', 1000)", 'SELECT bump()']) {
    test(`the READ ONLY transaction layer: ${sql}`, async () => {
      await assertRefused(query(sql), 'db_query/WRITE_REFUSED', /read-only transaction/);
      assert.equal(await snapshot(), before_, 'nothing changed');
    });
  }
});

describe('tables outside the list are refused', () => {
  const reads: [string, RegExp][] = [
    ['SELECT * FROM secret', /"secret"/],
    ['SELECT name, (SELECT token FROM secret LIMIT 1) FROM customers', /"secret"/],
    ['SELECT * FROM customers WHERE name IN (SELECT token FROM secret)', /"secret"/],
    ['SELECT * FROM secret_view', /"secret"/],
    ['WITH s AS (SELECT * FROM secret) SELECT * FROM s', /"secret"/],
    ['WITH s AS MATERIALIZED (SELECT * FROM secret) SELECT * FROM customers, s', /"secret"/],
    ['SELECT relname FROM pg_class', /"pg_catalog\.pg_class"/],
    ['SELECT * FROM pg_catalog.pg_tables', /"pg_catalog\./],
    ['SELECT * FROM information_schema.tables', /"pg_catalog\./],
    ['SELECT * FROM information_schema.columns', /"pg_catalog\./],
    ['TABLE secret', /"secret"/],
  ];
  for (const [sql, names] of reads) {
    test(sql, async () => {
      await assertRefused(query(sql), 'db_query/TABLE_NOT_ALLOWED', names);
    });
  }
});

describe('other refusals', () => {
  test('multiple statements, with or without params', async () => {
    await assertRefused(query('SELECT 1; DELETE FROM orders'), 'db_query/MULTIPLE_STATEMENTS');
    await assertRefused(query('SELECT $1::int; DELETE FROM orders', [1]), 'db_query/MULTIPLE_STATEMENTS');
    assert.equal(await snapshot(), before_, 'nothing changed');
  });

  test('the timeout: pg_sleep(10) with timeout_ms 200', async () => {
    await assertRefused(query('SELECT pg_sleep(10)'), 'db_query/TIMEOUT', /longer than 200 ms/);
    // The client went back to the pool out of its transaction: the next queries work.
    for (let index = 0; index < 3; index++) {
      assert.deepEqual(await query('SELECT 1 AS one'), { columns: ['one'], rows: [[1]], truncated: false });
    }
  });

  test("the database's own error for a bad query, coded", async () => {
    await assertRefused(query('SELECT nope FROM customers'), 'db_query/QUERY_FAILED', /column "nope" does not exist/);
    await assertRefused(query('SELECT * FROM customers WHERE id = $1', ['x']), 'db_query/QUERY_FAILED', /integer/);
  });
});

describe('the role setting', () => {
  test('queries run as the role: what it may not do, the database refuses', async () => {
    assert.deepEqual(await query('SELECT current_user AS who', [], 'shop_reader'), {
      columns: ['who'],
      rows: [[ROLE]],
      truncated: false,
    });
    await assertRefused(
      query("SELECT pg_read_file('PG_VERSION')", [], 'shop_reader'),
      'db_query/QUERY_FAILED',
      /permission denied for function pg_read_file/,
    );
  });

  test('without a role, a superuser connection is logged as a warning at start', () => {
    assert.ok(
      warnings.some((line) => /database "shop" runs as a superuser/.test(line)),
      `warned: ${JSON.stringify(warnings)}`,
    );
    assert.ok(!warnings.some((line) => /"shop_reader"/.test(line)), 'not for the database with a role');
  });
});

describe('db_schema', () => {
  test('describes the allowed tables, with schema-qualified names too', async () => {
    const described = (await harness.schema()) as {
      databases: { name: string; dialect: string; tables: { name: string; exists: boolean; columns: object[] }[] }[];
    };
    const [shop, reader] = described.databases;
    assert.equal(shop?.dialect, 'postgres');
    assert.deepEqual(shop?.tables[1], {
      name: 'orders',
      exists: true,
      columns: [
        { name: 'id', type: 'integer', nullable: false, primary_key: true },
        { name: 'customer_id', type: 'integer', nullable: false, primary_key: false },
        { name: 'total', type: 'integer', nullable: false, primary_key: false },
      ],
    });
    assert.equal(reader?.tables[0]?.name, 'public.customers');
    assert.equal(reader?.tables[0]?.columns.length, 8);
  });
});
