import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { closedPort } from '../support/closed-port.ts';
import { deleteRedisKeys, everything, makeRegistry, REDIS_URL, uniquePrefix, waitFor } from './support.ts';

const prefix = uniquePrefix();
after(() => deleteRedisKeys(prefix));

test('three consumers of one name share one client; what one writes, another reads', async () => {
  const { registry } = makeRegistry({ redis: { cache: { url: REDIS_URL, key_prefix: prefix } } });
  try {
    const [rateLimiter, cache, memory] = [registry.redis('cache'), registry.redis('cache'), registry.redis('cache')];
    assert.ok(rateLimiter instanceof Redis);
    assert.equal(cache, rateLimiter);
    assert.equal(memory, rateLimiter);

    await rateLimiter.set('greeting', 'hello', 'EX', 60);
    assert.equal(await cache.get('greeting'), 'hello');
    await Promise.all([1, 2, 3].map(() => memory.incr('hits')));
    assert.equal(await rateLimiter.get('hits'), '3');

    // key_prefix is applied: the key lives under the prefix on the server.
    const raw = new Redis(REDIS_URL);
    try {
      assert.equal(await raw.get(`${prefix}greeting`), 'hello');
      assert.equal(await raw.get('greeting'), null);
    } finally {
      await raw.quit();
    }
  } finally {
    await registry.close();
  }
});

test('an unreachable Redis does not crash the process, and a command fails within a couple of seconds', async () => {
  const port = await closedPort();
  const url = `redis://:s3cret-pw@127.0.0.1:${port}/0`;
  const { registry, lines } = makeRegistry({ redis: { cache: { url, key_prefix: prefix } } });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    const client = registry.redis('cache');
    const started = Date.now();
    await assert.rejects(client.get('anything'));
    assert.ok(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms`);
    // Several reconnection attempts later, still alive, and logged once for the outage.
    await assert.rejects(client.set('other', '1'));
    assert.deepEqual(uncaught, []);
    const down = lines.filter((line) => line.level === 'warn');
    assert.equal(down.length, 1, everything(lines));
    assert.match(
      down[0]?.message ?? '',
      new RegExp(`redis connection "cache" \\(redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0\\) is down: .*ECONNREFUSED`),
    );
    assert.equal(down[0]?.fields.connection, 'cache');
    assert.doesNotMatch(everything(lines), /s3cret-pw/);
  } finally {
    await registry.close();
    process.off('uncaughtException', onUncaught);
  }
});

test('an outage is logged when it starts and when it ends', async () => {
  // A proxy we can stop and start in front of the real Redis.
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(6379, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  const { registry, lines } = makeRegistry({
    redis: { cache: { url: `redis://127.0.0.1:${port}/0`, key_prefix: prefix } },
  });
  try {
    const client = registry.redis('cache');
    assert.equal(await client.ping(), 'PONG');
    // Down: stop accepting, cut the open connections.
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    await waitFor(() => lines.some((line) => line.level === 'warn'));
    // Up again on the same port.
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    await waitFor(() => lines.some((line) => line.level === 'info'));
    assert.equal(await client.ping(), 'PONG');
    const outage = lines.filter((line) => line.level !== 'debug').map((line) => line.message);
    assert.equal(outage.length, 2, everything(lines));
    assert.match(outage[0] ?? '', /redis connection "cache" .* is down/);
    assert.match(outage[1] ?? '', /redis connection "cache" .* is back up/);
  } finally {
    await registry.close();
    for (const socket of sockets) socket.destroy();
    if (proxy.listening) await new Promise((resolve) => proxy.close(resolve));
  }
});

test('asking for a Redis connection that is not configured says which exist', () => {
  const { registry } = makeRegistry({
    redis: { cache: { url: REDIS_URL }, sessions: { url: REDIS_URL } },
    postgres: { shared: { url: 'postgres://postgres@127.0.0.1:5432/test' } },
  });
  assert.throws(
    () => registry.redis('cahce'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message === 'no redis connection named "cahce" (did you mean "cache"?); redis connections: cache, sessions',
  );
  assert.throws(
    () => registry.redis('shared'),
    (error: unknown) =>
      isPlugboardError(error, 'CONNECTION_UNKNOWN') &&
      error.message === '"shared" is a postgres connection, not a redis one; redis connections: cache, sessions',
  );
  // Names of Object.prototype are not connections.
  assert.throws(
    () => registry.redis('constructor'),
    (error: unknown) => isPlugboardError(error, 'CONNECTION_UNKNOWN'),
  );
});
