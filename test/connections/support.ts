import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ConnectionRegistry, type ConnectionRegistryOptions } from '../../src/connections/connection-registry.ts';
import { type ConnectionsInput, connectionsSchema } from '../../src/connections/schema.ts';
import type { Logger } from '../../src/core/logger.ts';

/** The services of this machine the tests talk to. */
export const REDIS_URL = 'redis://127.0.0.1:6379/0';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** One logged line. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger that keeps every line, for assertions. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLine['level']) =>
      (fields: Record<string, unknown>, message?: string): void => {
        lines.push({ level, fields: { ...bindings, ...fields }, message });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}

/** A fresh, empty temporary folder (removed by {@link removeTempDir}). */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-connections-'));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `plugboard-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A registry over validated settings (defaults filled in by the schema, as in production). */
export function makeRegistry(
  input: ConnectionsInput,
  options: Partial<ConnectionRegistryOptions> = {},
): { registry: ConnectionRegistry; lines: LogLine[] } {
  const { logger, lines } = captureLogger();
  const registry = new ConnectionRegistry(connectionsSchema.parse(input), { logger, ...options });
  return { registry, lines };
}

/** Deletes every key under `prefix` (with a client of its own, without a key prefix). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

/** Everything a test may print or return, as one string, to search for secrets. */
export function everything(...values: unknown[]): string {
  return JSON.stringify(values, (_key, value: unknown) =>
    value instanceof Error ? { ...value, message: value.message, stack: value.stack, cause: value.cause } : value,
  );
}

/** Resolves once `condition` holds (checked every 10 ms); rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
