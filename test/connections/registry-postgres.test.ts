import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { closedPort } from '../support/closed-port.ts';
import { everything, makeRegistry, POSTGRES_URL, waitFor } from './support.ts';

test('three consumers of one name share one pool, which never opens more than pool_size connections', async () => {
  const { registry } = makeRegistry({ postgres: { shared: { url: POSTGRES_URL, pool_size: 2 } } });
  try {
    const consumers = [registry.postgres('shared'), registry.postgres('shared'), registry.postgres('shared')];
    const pool = consumers[0]!;
    assert.ok(pool instanceof pg.Pool);
    assert.ok(consumers.every((consumer) => consumer === pool));

    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, pool.totalCount);
    }, 2);
    const results = await Promise.all(
      consumers.flatMap((consumer, index) =>
        [0, 1, 2].map(async (round) => {
          const { rows } = await consumer.query<{ n: number }>('SELECT pg_sleep(0.02), $1::int AS n', [
            index * 10 + round,
          ]);
          most = Math.max(most, pool.totalCount);
          return rows[0]?.n;
        }),
      ),
    );
    clearInterval(sampler);
    assert.deepEqual(results, [0, 1, 2, 10, 11, 12, 20, 21, 22]);
    assert.ok(most >= 1 && most <= 2, `pool opened ${most} connections`);
    assert.ok(pool.totalCount <= 2);
  } finally {
    await registry.close();
  }
});

test('what one consumer writes, another reads', async () => {
  const { registry } = makeRegistry({ postgres: { shared: { url: POSTGRES_URL, pool_size: 3 } } });
  const table = `plugboard_test_${process.pid}_${Date.now()}`;
  try {
    await registry.postgres('shared').query(`CREATE TABLE ${table} (note text)`);
    await registry.postgres('shared').query(`INSERT INTO ${table} VALUES ($1)`, ['remember me']);
    const { rows } = await registry.postgres('shared').query(`SELECT note FROM ${table}`);
    assert.deepEqual(rows, [{ note: 'remember me' }]);
  } finally {
    await registry.postgres('shared').query(`DROP TABLE IF EXISTS ${table}`);
    await registry.close();
  }
});

test('a server connection dropped under the pool does not crash the process; the outage is logged once', async () => {
  const { registry, lines } = makeRegistry({ postgres: { shared: { url: POSTGRES_URL, pool_size: 2 } } });
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  let held: pg.PoolClient | undefined;
  try {
    const pool = registry.postgres('shared');
    // One client checked out by a plugin that forgot its own 'error' listener, and one idle.
    held = await pool.connect();
    const heldPid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const idlePid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    assert.notEqual(heldPid, idlePid);

    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [[idlePid, heldPid]]);
    await waitFor(() => pool.totalCount <= 1 && lines.some((line) => line.level === 'warn'));
    held.release(true);
    held = undefined;

    // The pool recovers with a fresh connection, and says so.
    assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    const outage = lines.filter((line) => line.level === 'warn' || line.level === 'info');
    assert.equal(outage.length, 2, everything(lines));
    assert.match(
      outage[0]?.message ?? '',
      /postgres connection "shared" \(postgres:\/\/postgres@127\.0\.0\.1:5432\/test\) is down: /,
    );
    assert.match(outage[1]?.message ?? '', /postgres connection "shared" .* is back up/);
  } finally {
    held?.release(true);
    await admin.end();
    await registry.close();
  }
});

test('close() does not wait forever for a client a plugin never released', async () => {
  const { registry, lines } = makeRegistry({ postgres: { shared: { url: POSTGRES_URL } } }, { closeTimeoutMs: 200 });
  const pool = registry.postgres('shared');
  const forgotten = await pool.connect();
  const running = forgotten.query('SELECT pg_sleep(5)');
  const started = Date.now();
  await registry.close();
  assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
  await assert.rejects(running);
  assert.match(
    lines.find((line) => line.level === 'warn')?.message ?? '',
    /did not close cleanly \(1 client\(s\) never released/,
  );
});

test('a PostgreSQL server that is not running fails the query, not the process, and no password is shown', async () => {
  const port = await closedPort();
  const { registry, lines } = makeRegistry({
    postgres: { shared: { url: `postgres://postgres:s3cret-pw@127.0.0.1:${port}/test` } },
  });
  try {
    const started = Date.now();
    await assert.rejects(registry.postgres('shared').query('SELECT 1'), /ECONNREFUSED/);
    assert.ok(Date.now() - started < 2_000);
    const health = await registry.healthCheck();
    assert.equal(health.status, 'unhealthy');
    assert.equal(health.details.shared?.status, 'down');
    assert.match(health.details.shared?.error ?? '', /ECONNREFUSED/);
    assert.match(
      lines.find((line) => line.level === 'warn')?.message ?? '',
      /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/,
    );
    assert.doesNotMatch(everything(health, lines), /s3cret-pw/);
  } finally {
    await registry.close();
  }
});

test('asking for a PostgreSQL connection under a wrong name or kind', () => {
  const { registry } = makeRegistry({
    redis: { cache: { url: 'redis://127.0.0.1:6379' } },
    postgres: { shared: { url: POSTGRES_URL }, analytics: { url: POSTGRES_URL } },
  });
  assert.throws(
    () => registry.postgres('cache'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message === '"cache" is a redis connection, not a postgres one; postgres connections: shared, analytics',
  );
  assert.throws(
    () => registry.postgres('shraed'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      /^no postgres connection named "shraed" \(did you mean "shared"\?\)/.test(error.message) &&
      JSON.stringify(error.details?.available) === '["shared","analytics"]',
  );
});
