/**
 * Where records are written: the server's logger, a JSON-lines file, or stdout. Each takes a
 * finished record; none changes it.
 */
import { once } from 'node:events';
import { closeSync, createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../src/index.ts';
import type { LoggingConfig } from './config.ts';
import type { RequestRecord } from './record.ts';

/** A record and when its request ended. */
export interface Entry {
  readonly record: RequestRecord;
  /** `Date.now()` when the request ended (not when the line is written). */
  readonly endedAt: number;
}

/**
 * Something records are written to. `write` may return a promise: the background handler holds
 * its slot until it settles, so a destination that stays slower than the requests fills the
 * runtime's bounded queue (and extra records are dropped and counted) instead of memory.
 */
export interface RecordSink {
  write(entry: Entry, logger: Logger): void | Promise<void>;
  /** Flushes what is buffered and releases the destination (at shutdown). */
  close(): Promise<void>;
}

/** The fields every line starts with, for the destinations that do not go through pino. */
export function lineOf(entry: Entry): string {
  return `${JSON.stringify({
    timestamp: new Date(entry.endedAt).toISOString(),
    level: 'INFO',
    plugin: 'logging',
    message: summary(entry.record),
    ...entry.record,
  })}\n`;
}

/** `chat completed`, `embeddings rejected (auth/UNAUTHENTICATED)`: the line's message. */
export function summary(record: RequestRecord): string {
  const base = `${record.operation} ${record.outcome}`;
  return record.error === undefined ? base : `${base} (${record.error.code})`;
}

/**
 * The sink of a validated config.
 *
 * - `log`: `logger.info(record, message)` on the plugin's logger — pino, through the server's
 *   logger, with its redaction, format and destination (raise `observability.logging.level` to
 *   `INFO`, or the records are filtered out with the other info lines);
 * - `file`: one JSON line per record appended to `config.file` (opened at start, so a path that
 *   cannot be written keeps the plugin out with a clear error, rather than failing later);
 * - `stdout`: one JSON line per record on the process's stdout.
 */
export function createSink(config: LoggingConfig): RecordSink {
  switch (config.destination) {
    case 'log':
      return logSink();
    case 'file':
      return fileSink(config.file!);
    case 'stdout':
      return streamSink(process.stdout);
  }
}

function logSink(): RecordSink {
  return {
    write(entry, logger) {
      logger.info({ ...entry.record }, summary(entry.record));
    },
    close: () => Promise.resolve(),
  };
}

function streamSink(stream: NodeJS.WritableStream): RecordSink {
  return {
    write(entry) {
      stream.write(lineOf(entry));
    },
    close: () => Promise.resolve(),
  };
}

/**
 * What the file's stream buffers before a writer waits for the disk: a burst of a few thousand
 * records is absorbed without holding the runtime's background slots (whose queue, once full,
 * drops records).
 */
const BUFFER_BYTES = 1 << 20;

/**
 * Appends to a file, opened with O_APPEND: whole lines are written (one write, or one writev of
 * several buffered lines), so several instances (a reload runs the new one next to the old one)
 * or processes appending to the same file do not interleave within a line. Rotation is left to the operator's tools (`logrotate` with
 * `copytruncate`).
 */
export function fileSink(path: string): RecordSink {
  const absolute = resolve(path);
  mkdirSync(dirname(absolute), { recursive: true });
  // Opened synchronously, so a bad path fails `initialize` with the path in the message.
  const fd = openSync(absolute, 'a');
  let stream: WriteStream;
  try {
    stream = createWriteStream(absolute, { fd, flags: 'a', highWaterMark: BUFFER_BYTES });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let failure: Error | undefined;
  // Without a listener an 'error' would end the process; record it and fail the next writes.
  stream.on('error', (error) => {
    failure = error;
  });
  let closed = false;
  /** While the buffer is over its mark: one wait for 'drain' shared by every writer. */
  let draining: Promise<void> | undefined;
  return {
    write(entry) {
      if (failure !== undefined) return Promise.reject(failure);
      if (closed) return Promise.reject(new Error(`logging: ${absolute} is closed (the plugin is stopping)`));
      if (stream.write(lineOf(entry))) return;
      // Backpressure: this handler keeps its background slot until the disk catches up.
      draining ??= once(stream, 'drain').then(() => {
        draining = undefined;
      });
      return draining;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (stream.destroyed) return;
      const finished = once(stream, 'close');
      stream.end();
      await finished.catch(() => undefined);
    },
  };
}
