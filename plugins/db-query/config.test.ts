/** The db_query config schema: defaults, bounds, and the mistakes it names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dbQueryConfigSchema } from './config.ts';

test('defaults: row_limit 100, timeout_ms 5000, no description, no role', () => {
  const config = dbQueryConfigSchema.parse({ databases: { shop: { connection: 'main', tables: ['orders'] } } });
  assert.deepEqual(config.databases.shop, {
    connection: 'main',
    tables: ['orders'],
    description: '',
    row_limit: 100,
    timeout_ms: 5000,
  });
});

test('refused: no database, no tables, a bad table or database name, out-of-range limits, unknown keys', () => {
  const bad: [unknown, RegExp][] = [
    [{ databases: {} }, /at least one database/],
    [{}, /databases/],
    [{ databases: { shop: { connection: 'main', tables: [] } } }, /at least one table/],
    [{ databases: { shop: { connection: 'main', tables: ['orders; drop'] } } }, /table name/],
    [{ databases: { 'bad name': { connection: 'main', tables: ['t'] } } }, /database names/],
    [{ databases: { shop: { connection: 'main', tables: ['t'], row_limit: 0 } } }, /row_limit/],
    [{ databases: { shop: { connection: 'main', tables: ['t'], row_limit: 10_001 } } }, /row_limit/],
    [{ databases: { shop: { connection: 'main', tables: ['t'], timeout_ms: 0 } } }, /timeout_ms/],
    [{ databases: { shop: { connection: 'main', tables: ['t'], role: 'x"; DROP' } } }, /role/],
    [{ databases: { shop: { connection: 'main', tables: ['t'], tabels: [] } } }, /tabels/],
  ];
  for (const [input, message] of bad) {
    const parsed = dbQueryConfigSchema.safeParse(input);
    assert.equal(parsed.success, false, JSON.stringify(input));
    assert.match(JSON.stringify(parsed.error?.issues), message, JSON.stringify(input));
  }
});
