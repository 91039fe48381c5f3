/**
 * The deadline scheduler behind plugin timeouts: one timer per distinct timeout value,
 * entries in start order, O(1) cancel, and no idle timer keeping the process alive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeadlineScheduler } from '../../src/core/execution/deadline-scheduler.ts';

/** Resolves with the time (performance.now) at which the deadline fired. */
function fired(scheduler: DeadlineScheduler, timeoutMs: number, log?: string[], label?: string) {
  let resolve!: (at: number) => void;
  const promise = new Promise<number>((res) => {
    resolve = res;
  });
  const scheduledAt = performance.now();
  const deadline = scheduler.schedule(timeoutMs, () => {
    if (log && label) log.push(label);
    resolve(performance.now());
  });
  return { promise, deadline, scheduledAt };
}

describe('DeadlineScheduler', () => {
  test('fires after the timeout, not before', async () => {
    const scheduler = new DeadlineScheduler();
    const { promise, scheduledAt } = fired(scheduler, 25);
    const at = await promise;
    assert.ok(at - scheduledAt >= 25, `fired after ${at - scheduledAt} ms`);
  });

  test('fires each deadline exactly once', async () => {
    const scheduler = new DeadlineScheduler();
    let count = 0;
    scheduler.schedule(5, () => count++);
    const last = fired(scheduler, 5);
    await last.promise;
    // A later, longer deadline: by the time it fires the 5 ms list had every chance to fire again.
    await fired(scheduler, 20).promise;
    assert.equal(count, 1);
  });

  test('cancel prevents firing; cancelling twice or after firing is harmless', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    const cancelled = scheduler.schedule(10, () => log.push('cancelled'));
    const kept = fired(scheduler, 10, log, 'kept');
    cancelled.cancel();
    cancelled.cancel();
    await kept.promise;
    // Same timeout, scheduled later: when it fired, the cancelled one would have fired first.
    assert.deepEqual(log, ['kept']);
    kept.deadline.cancel();
    assert.deepEqual(log, ['kept']);
  });

  test('many entries with the same timeout fire in the order they were scheduled', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    const entries = Array.from({ length: 51 }, (_, index) => fired(scheduler, 15, log, String(index)));
    // Cancel every third one along the way.
    for (const [index, entry] of entries.entries()) if (index % 3 === 1) entry.deadline.cancel();
    await entries.at(-1)!.promise;
    const expected = entries.map((_, index) => String(index)).filter((_, index) => index % 3 !== 1);
    assert.deepEqual(log, expected);
    for (const [index, entry] of entries.entries()) {
      if (index % 3 === 1) continue;
      assert.ok((await entry.promise) - entry.scheduledAt >= 15, `entry ${index} fired after its timeout`);
    }
  });

  test('different timeouts keep separate lists: a shorter one scheduled later fires first', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    const long = fired(scheduler, 40, log, 'long');
    const short = fired(scheduler, 10, log, 'short');
    await Promise.all([long.promise, short.promise]);
    assert.deepEqual(log, ['short', 'long']);
  });

  test('cancelling the head re-arms for the next entry at its own time', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    const head = fired(scheduler, 30, log, 'head');
    // Let time pass between the two entries, using the scheduler itself (another list).
    await fired(scheduler, 15).promise;
    const second = fired(scheduler, 30, log, 'second');
    head.deadline.cancel();
    const at = await second.promise;
    assert.deepEqual(log, ['second']);
    assert.ok(at - second.scheduledAt >= 30, `second fired ${at - second.scheduledAt} ms after it was scheduled`);
    assert.ok(second.scheduledAt - head.scheduledAt >= 15, 'the entries were really apart');
  });

  test('cancelling everything, then scheduling again, still fires', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    for (let index = 0; index < 5; index++) scheduler.schedule(10, () => log.push(`old-${index}`)).cancel();
    const fresh = fired(scheduler, 10, log, 'fresh');
    const at = await fresh.promise;
    assert.deepEqual(log, ['fresh']);
    assert.ok(at - fresh.scheduledAt >= 10);
  });

  test('a list that emptied by firing is reused for new entries', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    await fired(scheduler, 5, log, 'first').promise;
    await fired(scheduler, 5, log, 'second').promise;
    const third = fired(scheduler, 5, log, 'third');
    const fourth = fired(scheduler, 5, log, 'fourth');
    await Promise.all([third.promise, fourth.promise]);
    assert.deepEqual(log, ['first', 'second', 'third', 'fourth']);
  });

  test('a deadline scheduled from inside an expiry callback fires too', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    let inner!: Promise<number>;
    await new Promise<void>((resolve) => {
      scheduler.schedule(5, () => {
        log.push('outer');
        inner = fired(scheduler, 5, log, 'inner').promise;
        resolve();
      });
    });
    await inner;
    assert.deepEqual(log, ['outer', 'inner']);
  });

  test('an expiry callback may cancel a later entry of the same list', async () => {
    const scheduler = new DeadlineScheduler();
    const log: string[] = [];
    let victim: { cancel(): void } | undefined;
    scheduler.schedule(10, () => {
      log.push('first');
      victim?.cancel();
    });
    victim = scheduler.schedule(10, () => log.push('victim'));
    const last = fired(scheduler, 10, log, 'last');
    await last.promise;
    assert.deepEqual(log, ['first', 'last']);
  });
});

describe('DeadlineScheduler timers (in process)', () => {
  /** Timers currently keeping the event loop alive (unref'd ones are not listed). */
  const liveTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

  test('a pending deadline holds one live timer; cancelling it releases the timer', () => {
    const scheduler = new DeadlineScheduler();
    const base = liveTimers();
    const first = scheduler.schedule(60_000, () => undefined);
    const second = scheduler.schedule(60_000, () => undefined);
    assert.equal(liveTimers(), base + 1, 'one timer per timeout value, not per deadline');
    first.cancel();
    assert.equal(liveTimers(), base + 1, 'still one deadline pending');
    second.cancel();
    assert.equal(liveTimers(), base, 'an idle list keeps nothing alive');
    const third = scheduler.schedule(60_000, () => undefined);
    assert.equal(liveTimers(), base + 1, 'a new deadline makes the timer live again');
    third.cancel();
    assert.equal(liveTimers(), base);
  });

  test('a deadline scheduled from an expiry callback does not leave a second timer behind', async () => {
    const scheduler = new DeadlineScheduler();
    const base = liveTimers();
    let later: { cancel(): void } | undefined;
    await new Promise<void>((resolve) => {
      scheduler.schedule(10, () => {
        later = scheduler.schedule(10, () => undefined);
        resolve();
      });
    });
    assert.equal(liveTimers(), base + 1, 'exactly one timer for the pending deadline');
    later!.cancel();
    assert.equal(liveTimers(), base, 'nothing keeps the process alive once it is cancelled');
  });
});

describe('DeadlineScheduler and process lifetime', () => {
  const moduleUrl = new URL('../../src/core/execution/deadline-scheduler.ts', import.meta.url).href;
  const cwd = fileURLToPath(new URL('../..', import.meta.url));

  /** Runs `body` in a child `node --import tsx` process and reports how it ended. */
  function runChild(body: string) {
    const code = `import { DeadlineScheduler } from ${JSON.stringify(moduleUrl)};\n${body}`;
    const start = performance.now();
    return new Promise<{ code: number | null; signal: string | null; stdout: string; elapsedMs: number }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        { cwd, timeout: 20_000, killSignal: 'SIGKILL' },
        (_error, stdout) =>
          resolve({ code: child.exitCode, signal: child.signalCode, stdout, elapsedMs: performance.now() - start }),
      );
    });
  }

  test('an idle (cancelled) 60 s deadline does not keep the process alive', async () => {
    const result = await runChild(
      `const scheduler = new DeadlineScheduler();
       const deadline = scheduler.schedule(60_000, () => console.log('fired'));
       deadline.cancel();
       console.log('cancelled');`,
    );
    assert.equal(result.signal, null, 'the child exited by itself (was not killed after 20 s)');
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), 'cancelled');
    assert.ok(result.elapsedMs < 20_000);
  });

  test('a pending deadline does keep the process alive until it fires', async () => {
    const result = await runChild(
      `const scheduler = new DeadlineScheduler();
       scheduler.schedule(60_000, () => console.log('never')).cancel();
       scheduler.schedule(60_000, () => console.log('never either')).cancel();
       scheduler.schedule(200, () => console.log('fired'));
       console.log('scheduled');`,
    );
    assert.equal(result.code, 0);
    assert.deepEqual(result.stdout.trim().split('\n'), ['scheduled', 'fired']);
  });

  test('re-arming after the head was cancelled keeps the process alive for the rest', async () => {
    const result = await runChild(
      `const scheduler = new DeadlineScheduler();
       const head = scheduler.schedule(150, () => console.log('head'));
       await new Promise((resolve) => scheduler.schedule(20, resolve));
       scheduler.schedule(150, () => console.log('second'));
       head.cancel();
       console.log('cancelled head');`,
    );
    assert.equal(result.code, 0);
    assert.deepEqual(result.stdout.trim().split('\n'), ['cancelled head', 'second']);
  });
});
