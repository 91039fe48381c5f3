import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { closedPort } from '../support/closed-port.ts';
import {
  deleteRedisKeys,
  everything,
  makeRegistry,
  makeTempDir,
  POSTGRES_URL,
  REDIS_URL,
  removeTempDir,
  uniquePrefix,
} from './support.ts';

const prefix = uniquePrefix();
const cwd = makeTempDir();
after(async () => {
  removeTempDir(cwd);
  await deleteRedisKeys(prefix);
});

test('names() lists every configured connection, redis first, then postgres, then sqlite', () => {
  const { registry } = makeRegistry({
    sqlite: { local: { file: 'a.db' } },
    postgres: { shared: { url: POSTGRES_URL } },
    redis: { cache: { url: REDIS_URL }, sessions: { url: REDIS_URL } },
  });
  assert.deepEqual(registry.names(), [
    { name: 'cache', kind: 'redis' },
    { name: 'sessions', kind: 'redis' },
    { name: 'shared', kind: 'postgres' },
    { name: 'local', kind: 'sqlite' },
  ]);
});

test('health: every connection in use is up; those never asked for are unused and not opened', async () => {
  const { registry } = makeRegistry(
    {
      redis: { cache: { url: REDIS_URL, key_prefix: prefix }, spare: { url: REDIS_URL } },
      postgres: { shared: { url: POSTGRES_URL, pool_size: 2 } },
      sqlite: { local: { file: 'health.db' } },
    },
    { cwd },
  );
  try {
    registry.redis('cache');
    registry.postgres('shared');
    registry.sqlite('local');
    const health = await registry.healthCheck();
    assert.equal(health.status, 'healthy', everything(health));
    for (const name of ['cache', 'shared', 'local']) {
      assert.equal(health.details[name]?.status, 'up', name);
      assert.equal(typeof health.details[name]?.latencyMs, 'number', name);
    }
    assert.deepEqual(health.details.spare, { kind: 'redis', status: 'unused' });
    assert.deepEqual(
      Object.entries(health.details).map(([name, detail]) => [name, detail.kind]),
      [
        ['cache', 'redis'],
        ['spare', 'redis'],
        ['shared', 'postgres'],
        ['local', 'sqlite'],
      ],
    );
  } finally {
    await registry.close();
  }
});

test('health: servers that refuse connections are down (unhealthy), quickly, with no password anywhere', async () => {
  const [redisPort, postgresPort] = [await closedPort(), await closedPort()];
  const { registry, lines } = makeRegistry({
    redis: { cache: { url: `redis://:s3cret-pw@127.0.0.1:${redisPort}/0` } },
    postgres: { shared: { url: `postgres://postgres:s3cret-pw@127.0.0.1:${postgresPort}/test` } },
  });
  try {
    registry.redis('cache');
    registry.postgres('shared');
    const started = Date.now();
    const health = await registry.healthCheck();
    assert.ok(Date.now() - started < 1_500, `health took ${Date.now() - started} ms`);
    assert.equal(health.status, 'unhealthy');
    assert.equal(health.details.cache?.status, 'down');
    assert.equal(health.details.shared?.status, 'down');
    assert.match(health.details.shared?.error ?? '', /ECONNREFUSED/);
    // A second check during the same outage logs nothing new.
    await registry.healthCheck();
    assert.equal(lines.filter((line) => line.level === 'warn').length, 2, everything(lines));
    assert.doesNotMatch(everything(health, lines), /s3cret-pw/);
  } finally {
    await registry.close();
  }
});

test('health: one connection down among several is degraded', async () => {
  const port = await closedPort();
  const { registry } = makeRegistry({
    redis: { cache: { url: REDIS_URL, key_prefix: prefix }, broken: { url: `redis://127.0.0.1:${port}` } },
  });
  try {
    registry.redis('cache');
    registry.redis('broken');
    const health = await registry.healthCheck();
    assert.equal(health.status, 'degraded', everything(health));
    assert.equal(health.details.cache?.status, 'up');
    assert.equal(health.details.broken?.status, 'down');
  } finally {
    await registry.close();
  }
});

test('health: a server that accepts connections but never answers cannot hang the check', async () => {
  // A black hole: accepts, reads, never writes.
  const sockets = new Set<Socket>();
  const hole = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.resume();
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  const { port } = hole.address() as { port: number };
  const { registry } = makeRegistry(
    {
      redis: { cache: { url: `redis://127.0.0.1:${port}`, connect_timeout: 1 } },
      postgres: { shared: { url: `postgres://postgres@127.0.0.1:${port}/test`, connect_timeout: 1 } },
    },
    { healthTimeoutMs: 300, closeTimeoutMs: 300 },
  );
  try {
    registry.redis('cache');
    registry.postgres('shared');
    const started = Date.now();
    const health = await registry.healthCheck();
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 1_000, `health took ${took} ms`);
    assert.equal(health.status, 'unhealthy');
    assert.match(health.details.cache?.error ?? '', /no answer within 300 ms/);
    assert.match(health.details.shared?.error ?? '', /no answer within 300 ms/);
  } finally {
    const started = Date.now();
    await registry.close();
    assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hole.close(resolve));
  }
});

test('close() ends every client, is idempotent, and the getters fail afterwards', async () => {
  const port = await closedPort();
  const { registry } = makeRegistry(
    {
      redis: { cache: { url: REDIS_URL, key_prefix: prefix }, down: { url: `redis://127.0.0.1:${port}` } },
      postgres: { shared: { url: POSTGRES_URL } },
      sqlite: { local: { file: 'close.db' } },
    },
    { cwd },
  );
  const redis = registry.redis('cache');
  const down = registry.redis('down');
  const pool = registry.postgres('shared');
  const db = registry.sqlite('local');
  await redis.set('before-close', '1');
  await pool.query('SELECT 1');

  const closing = registry.close();
  assert.equal(registry.close(), closing, 'a second close() while closing is the same promise');
  await closing;
  assert.equal(redis.status, 'end');
  assert.equal(down.status, 'end');
  assert.equal(pool.ended, true);
  assert.equal(db.open, false);
  await registry.close();

  for (const use of [
    () => registry.redis('cache'),
    () => registry.postgres('shared'),
    () => registry.sqlite('local'),
  ]) {
    assert.throws(
      use,
      (error: unknown) => isPlugboardError(error, 'CONNECTION_FAILED') && /is closed/.test(error.message),
    );
  }
  // Unknown names are still reported as unknown.
  assert.throws(
    () => registry.redis('nope'),
    (error: unknown) => isPlugboardError(error, 'CONNECTION_UNKNOWN'),
  );
  const health = await registry.healthCheck();
  assert.equal(health.status, 'unhealthy');
  assert.deepEqual(health.details.cache, { kind: 'redis', status: 'down', error: 'closed' });
});

test('close() with nothing opened resolves at once', async () => {
  const { registry } = makeRegistry({ redis: { cache: { url: REDIS_URL } } });
  await registry.close();
  assert.deepEqual((await registry.healthCheck()).status, 'healthy');
});
