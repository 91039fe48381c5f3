/**
 * A plugin that registers test tools in the tool registry with defineTool, as db_query or
 * web_search do: for the tool loop's tests.
 */
import { z } from 'zod';
import { definePlugin, defineTool, PlugboardError, toolRegistryRef } from '../../../src/index.ts';

/** Counts of each tool's runs, and the barrier the `meet` tool waits at. */
export interface Calculator {
  readonly runs: Map<string, number>;
  plugin: ReturnType<typeof definePlugin>;
}

/** A plugin that registers test tools in the registry, as db_query or web_search do. */
export function calculatorPlugin(): Calculator {
  const runs = new Map<string, number>();
  const ran = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
  // `meet` answers "together" only when a second `meet` call started while the first waited:
  // two calls run one after the other would each give up and answer "alone".
  let waiting: (() => void) | undefined;
  const meet = defineTool({
    name: 'meet',
    description: 'Waits for the other meet call',
    input: z.object({ who: z.string() }),
    run: async ({ who }, { signal }) => {
      ran('meet');
      if (waiting !== undefined) {
        waiting();
        waiting = undefined;
        return `${who}: together`;
      }
      const met = await new Promise<boolean>((resolve) => {
        waiting = () => resolve(true);
        signal.addEventListener('abort', () => resolve(false), { once: true });
      });
      return `${who}: ${met ? 'together' : 'alone'}`;
    },
    timeoutMs: 5_000,
  });
  const add = defineTool({
    name: 'add',
    description: 'Adds two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    run: ({ a, b }) => {
      ran('add');
      return { sum: a + b };
    },
  });
  const explode = defineTool({
    name: 'explode',
    description: 'Throws',
    input: z.object({}),
    run: () => {
      ran('explode');
      throw new Error('database password is hunter2');
    },
  });
  const hang = defineTool({
    name: 'hang',
    description: 'Never answers (ignores its signal)',
    input: z.object({}),
    run: () => {
      ran('hang');
      return new Promise<string>(() => {});
    },
    timeoutMs: 50,
  });
  const hangLong = defineTool({
    name: 'hang_default',
    description: 'Never answers; no timeout of its own',
    input: z.object({}),
    run: () => new Promise<string>(() => {}),
  });
  const refuse = defineTool({
    name: 'refuse',
    description: 'Refuses with a coded error',
    input: z.object({}),
    run: () => {
      throw new PlugboardError('REQUEST_REJECTED', 'Only tables a and b may be read', { status: 403 });
    },
  });
  const plugin = definePlugin({
    metadata: { name: 'calculator', version: '1.0.0', consumes: [toolRegistryRef] },
    initialize(_config, call) {
      call.services.get(toolRegistryRef).register('calculator', [meet, add, explode, hang, hangLong, refuse]);
    },
  });
  return { runs, plugin };
}
