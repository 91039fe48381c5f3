/**
 * The scheduling of ModelResidency on its own, with engines whose load and unload the test
 * finishes by hand: which model loads when, what waits, what leaves the line. (The same
 * class runs real llama.cpp models in models-dir.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ModelLease, type ModelRef, ModelResidency } from './model-residency.ts';

/** An engine that records its unload; its dispose ends when the test says so (or at once). */
class FakeEngine {
  disposed = false;
  #release: (() => void) | undefined;
  #holdDispose: boolean;

  constructor(
    readonly id: string,
    holdDispose: boolean,
  ) {
    this.#holdDispose = holdDispose;
  }

  dispose(): Promise<void> {
    this.disposed = true;
    if (!this.#holdDispose) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  }

  /** Ends a held dispose. */
  finishDispose(): void {
    assert.ok(this.#release, `${this.id} is being unloaded`);
    this.#release();
  }
}

/** A residency whose loads the test resolves (or fails) one by one, logging each event. */
function setup(maxLoaded: number, options: { holdDispose?: boolean } = {}) {
  const events: string[] = [];
  const pending = new Map<string, { resolve: (engine: FakeEngine) => void; reject: (error: Error) => void }>();
  const engines = new Map<string, FakeEngine>();
  const residency = new ModelResidency<ModelRef, FakeEngine>({
    maxLoaded,
    load: (model) => {
      events.push(`load ${model.id}`);
      return new Promise<FakeEngine>((resolve, reject) => pending.set(model.id, { resolve, reject }));
    },
    onUnloaded: (model) => events.push(`unloaded ${model.id}`),
    closedError: () => new Error('closed'),
  });
  return {
    residency,
    events,
    engines,
    /** Finishes the load of `id` (which must be loading). */
    finishLoad(id: string) {
      const load = pending.get(id);
      assert.ok(load, `${id} is loading`);
      pending.delete(id);
      const engine = new FakeEngine(id, options.holdDispose ?? false);
      engines.set(id, engine);
      load.resolve(engine);
    },
    failLoad(id: string, error: Error) {
      const load = pending.get(id);
      assert.ok(load, `${id} is loading`);
      pending.delete(id);
      load.reject(error);
    },
    isLoading: (id: string) => pending.has(id),
  };
}

const model = (id: string): ModelRef => ({ id, path: `/models/${id}.gguf` });
const never = new AbortController().signal;

/** Lets every settled promise run its handlers. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` has settled (after letting pending handlers run). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await settle();
  return done;
}

describe('ModelResidency', () => {
  test('requests arriving during a load share it; the lease gives the loaded engine', async () => {
    const { residency, events, finishLoad } = setup(1);
    const first = residency.acquire(model('a'), never);
    const second = residency.acquire(model('a'), never);
    finishLoad('a');
    const [one, two] = await Promise.all([first, second]);
    assert.equal(one.engine, two.engine);
    assert.deepEqual(events, ['load a']);
    assert.deepEqual(residency.residents, [
      { id: 'a', path: '/models/a.gguf', state: 'ready', users: 2, draining: false },
    ]);
    one.release();
    one.release(); // a second release is ignored
    assert.equal(residency.residents[0]!.users, 1);
    two.release();
    assert.equal(residency.residents[0]!.users, 0);
  });

  test('at the bound, an idle model is unloaded before the next loads — never both in memory', async () => {
    const { residency, events, engines, finishLoad, isLoading } = setup(1, { holdDispose: true });
    const a = residency.acquire(model('a'), never);
    finishLoad('a');
    (await a).release();
    const b = residency.acquire(model('b'), never);
    await settle();
    assert.equal(engines.get('a')!.disposed, true, 'a is being unloaded');
    assert.equal(isLoading('b'), false, 'b waits until a is gone');
    engines.get('a')!.finishDispose();
    await settle();
    assert.equal(isLoading('b'), true);
    finishLoad('b');
    (await b).release();
    assert.deepEqual(events, ['load a', 'unloaded a', 'load b']);
    assert.deepEqual(
      residency.residents.map((resident) => resident.id),
      ['b'],
    );
  });

  test('the least recently used idle model makes room', async () => {
    const { residency, events, finishLoad } = setup(2);
    for (const id of ['a', 'b']) {
      const lease = residency.acquire(model(id), never);
      finishLoad(id);
      (await lease).release();
    }
    const again = await residency.acquire(model('a'), never); // a is now the more recent
    again.release();
    const c = residency.acquire(model('c'), never);
    await settle();
    finishLoad('c');
    (await c).release();
    assert.deepEqual(events, ['load a', 'load b', 'unloaded b', 'load c']);
    assert.equal(residency.lastUsed, 'c');
  });

  test('no idle model: the request waits for one; the busy model drains meanwhile', async () => {
    const { residency, events, finishLoad } = setup(1);
    const aPromise = residency.acquire(model('a'), never);
    finishLoad('a');
    const a = await aPromise;
    const b = residency.acquire(model('b'), never);
    await settle();
    assert.equal(residency.waiting, 1);
    assert.equal(residency.residents[0]!.draining, true, 'a takes no new requests while b waits');
    // A new request for a queues behind b rather than keeping b out forever.
    const aAgain = residency.acquire(model('a'), never);
    assert.equal(await settled(aAgain), false);
    assert.equal(residency.waiting, 2);
    a.release();
    await settle();
    finishLoad('b');
    const bLease = await b;
    assert.equal(bLease.engine.id, 'b');
    assert.equal(await settled(aAgain), false, 'a waits for b to be idle');
    bLease.release();
    await settle();
    finishLoad('a');
    (await aAgain).release();
    assert.deepEqual(events, ['load a', 'unloaded a', 'load b', 'unloaded b', 'load a']);
  });

  test('a waiting request leaves the line on abort; the busy model then serves again', async () => {
    const { residency, events, finishLoad } = setup(1);
    const aPromise = residency.acquire(model('a'), never);
    finishLoad('a');
    const a = await aPromise;
    const controller = new AbortController();
    const b = residency.acquire(model('b'), controller.signal);
    await settle();
    assert.equal(residency.residents[0]!.draining, true);
    const reason = new Error('cancelled by the caller');
    controller.abort(reason);
    await assert.rejects(b, (error: unknown) => error === reason);
    assert.equal(residency.waiting, 0);
    assert.equal(residency.residents[0]!.draining, false, 'a serves new requests again');
    const shared = await residency.acquire(model('a'), never);
    assert.equal(shared.engine, a.engine);
    a.release();
    shared.release();
    await settle();
    assert.deepEqual(events, ['load a'], 'b never loaded, a never unloaded');
  });

  test('a request aborted while its model loads gives up; the load goes on for the others', async () => {
    const { residency, finishLoad } = setup(1);
    const controller = new AbortController();
    const leaving = residency.acquire(model('a'), controller.signal);
    const staying = residency.acquire(model('a'), never);
    controller.abort(new Error('gone'));
    await assert.rejects(leaving, /gone/);
    finishLoad('a');
    const lease: ModelLease<FakeEngine> = await staying;
    assert.equal(residency.residents[0]!.users, 1);
    lease.release();
  });

  test('a failed load fails its requests, is forgotten, and frees its place', async () => {
    const { residency, events, failLoad, finishLoad } = setup(1);
    const first = residency.acquire(model('a'), never);
    failLoad('a', new Error('broken file'));
    await assert.rejects(first, /broken file/);
    assert.deepEqual(residency.residents, []);
    const second = residency.acquire(model('b'), never);
    finishLoad('b');
    (await second).release();
    assert.deepEqual(events, ['load a', 'load b']);
  });

  test('unloadIdle unloads the idle models whose file went, not the busy ones', async () => {
    const { residency, events, finishLoad } = setup(2);
    const a = residency.acquire(model('a'), never);
    const b = residency.acquire(model('b'), never);
    finishLoad('a');
    finishLoad('b');
    (await a).release();
    const busy = await b;
    residency.unloadIdle(() => false);
    await settle();
    assert.deepEqual(events, ['load a', 'load b', 'unloaded a']);
    busy.release();
  });

  test('close fails the line and later requests, and unloads everything', async () => {
    const { residency, engines, finishLoad } = setup(1);
    const a = residency.acquire(model('a'), never);
    finishLoad('a');
    await a;
    const waiting = residency.acquire(model('b'), never);
    await residency.close();
    await assert.rejects(waiting, /closed/);
    await assert.rejects(residency.acquire(model('a'), never), /closed/);
    assert.equal(engines.get('a')!.disposed, true);
  });
});
