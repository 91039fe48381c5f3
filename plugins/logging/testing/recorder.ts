/**
 * Sinks for the logging plugin's tests: one that keeps every record, and one whose writes wait
 * until the test releases them. Waiting for records goes by count, never by time.
 */
import type { Entry, RecordSink } from '../destination.ts';
import type { RequestRecord } from '../record.ts';

/** A sink that keeps every record, and lets a test wait until some number of them came. */
export interface Recorder {
  readonly sink: RecordSink;
  readonly records: RequestRecord[];
  /** Keeps a record as if it had been written. */
  add(record: RequestRecord): void;
  /** Resolves once `count` records were written in all. */
  until(count: number): Promise<RequestRecord[]>;
}

/** A recorder; `onWrite` runs as each record is written (to note the order of events). */
export function createRecorder(onWrite?: (record: RequestRecord) => void): Recorder {
  const records: RequestRecord[] = [];
  const waiters: { count: number; done: (records: RequestRecord[]) => void }[] = [];
  const wake = () => {
    for (const waiter of [...waiters]) {
      if (records.length < waiter.count) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.done(records);
    }
  };
  const add = (record: RequestRecord) => {
    records.push(record);
    onWrite?.(record);
    wake();
  };
  return {
    records,
    add,
    sink: {
      write: (entry: Entry) => add(entry.record),
      close: () => Promise.resolve(),
    },
    until(count) {
      if (records.length >= count) return Promise.resolve(records);
      return new Promise((done) => waiters.push({ count, done }));
    },
  };
}

/** A sink whose writes start at once but finish only when the test calls `release()`. */
export interface GatedSink {
  readonly sink: RecordSink;
  /** Writes begun (the record was handed to the sink). */
  readonly started: RequestRecord[];
  /** Writes finished (released). */
  readonly finished: RequestRecord[];
  /** Resolves once `count` writes have begun. */
  untilStarted(count: number): Promise<void>;
  /** Lets every begun write finish; resolves when they have. */
  release(): Promise<void>;
}

export function createGatedSink(): GatedSink {
  const started: RequestRecord[] = [];
  const finished: RequestRecord[] = [];
  const gates: Promise<void>[] = [];
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const begun = createRecorder();
  return {
    started,
    finished,
    sink: {
      write(entry: Entry) {
        started.push(entry.record);
        begun.add(entry.record);
        const done = gate.then(() => {
          finished.push(entry.record);
        });
        gates.push(done);
        return done;
      },
      close: () => Promise.resolve(),
    },
    untilStarted: async (count) => {
      await begun.until(count);
    },
    async release() {
      open();
      await Promise.all(gates);
    },
  };
}
