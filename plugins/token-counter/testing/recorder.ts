/**
 * A recorder of the token counter's records (its `onRecorded` option), for tests: the budget
 * charge runs after the response, so a test waits for it by count, never by time.
 */
import type { TokenRecord } from '../token-counter.plugin.ts';

/** The records so far, and a wait for the Nth. */
export interface TokenRecorder {
  readonly records: TokenRecord[];
  /** Pass as `createTokenCounterPlugin({ onRecorded })`. */
  readonly onRecorded: (record: TokenRecord) => void;
  /** Resolves once `count` records were made in all. */
  until(count: number): Promise<TokenRecord[]>;
}

/** A fresh recorder. */
export function createTokenRecorder(): TokenRecorder {
  const records: TokenRecord[] = [];
  const waiters: { count: number; done: (records: TokenRecord[]) => void }[] = [];
  return {
    records,
    onRecorded(record) {
      records.push(record);
      for (const waiter of [...waiters]) {
        if (records.length < waiter.count) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done(records);
      }
    },
    until(count) {
      if (records.length >= count) return Promise.resolve(records);
      return new Promise((done) => waiters.push({ count, done }));
    },
  };
}
