/**
 * The tool registry keeps what plugins register: a tool written as a class keeps its `run`
 * (bound to it), a name another owner holds is refused, and an owner's new list replaces its old.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlugboardError, MemoryToolRegistry, type ToolSpec } from '../../src/index.ts';

class Greeter implements ToolSpec {
  readonly name = 'greet';
  readonly description = 'Greets someone';
  readonly parameters = { type: 'object', properties: { who: { type: 'string' } } };
  readonly #greeting = 'Hello';
  run(args: unknown): string {
    return `${this.#greeting}, ${(args as { who: string }).who}`;
  }
}

test('a tool written as a class keeps its run, bound to the instance', async () => {
  const registry = new MemoryToolRegistry();
  registry.register('greeter', [new Greeter()]);
  const tool = registry.get('greet');
  assert.equal(await tool?.run({ who: 'Bo' }, { requestId: 'r', signal: AbortSignal.timeout(1000) }), 'Hello, Bo');
  assert.equal(tool?.owner, 'greeter');
});

test("another owner's name is refused; an owner's new list replaces its old one", () => {
  const registry = new MemoryToolRegistry();
  const changes: number[] = [];
  registry.onChange(() => changes.push(registry.list().length));
  const unregister = registry.register('a', [new Greeter()]);
  assert.throws(
    () => registry.register('b', [new Greeter()]),
    (error) => isPlugboardError(error, 'TOOL_INVALID') && /already registered by "a"/.test(error.message),
  );
  registry.register('a', []);
  assert.equal(registry.get('greet'), undefined);
  unregister(); // replaced since: removes nothing more
  assert.deepEqual(changes, [1, 0]);
});
