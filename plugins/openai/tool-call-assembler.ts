import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../../src/index.ts';

/** One streamed piece of a tool call, as OpenAI's `delta.tool_calls[]` carries it. */
export interface ToolCallDelta {
  readonly index?: number | null;
  readonly id?: string | null;
  readonly function?: { readonly name?: string | null; readonly arguments?: string | null } | null;
}

interface Pending {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Assembles OpenAI's streamed tool-call deltas into whole calls. OpenAI sends a call's `id`
 * and `name` in its first delta and the `arguments` JSON in pieces after it, all under the
 * call's `index`; servers differ in the details, which this tolerates:
 *
 * - the id or name repeated in later deltas (vLLM), or the whole call in one delta;
 * - no `index` (some older servers): a delta with a new id starts a new call, one without
 *   continues the last call;
 * - no id at all: one is made up (`call_…`), since a reply to the call must name it.
 *
 * @example
 * ```ts
 * const calls = new ToolCallAssembler();
 * calls.add({ index: 0, id: 'call_1', function: { name: 'get_weather', arguments: '{"ci' } });
 * calls.add({ index: 0, function: { arguments: 'ty":"Paris"}' } });
 * calls.take(); // [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]
 * ```
 */
export class ToolCallAssembler {
  /** The calls in the order they started. */
  readonly #calls: Pending[] = [];
  /** The call each wire `index` currently continues. */
  readonly #byIndex = new Map<number, Pending>();
  #last: Pending | undefined;

  /** True while calls are waiting to be taken. */
  get pending(): boolean {
    return this.#calls.length > 0;
  }

  add(delta: ToolCallDelta): void {
    const call = this.#callOf(delta);
    this.#last = call;
    if (delta.id) call.id = delta.id;
    const name = delta.function?.name;
    // Servers that repeat the name send it whole each time; those that stream it send pieces.
    if (name) call.name = call.name === '' || call.name === name ? name : call.name + name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
  }

  /**
   * The calls assembled so far, in the order they started, and forgets them.
   *
   * @throws Error when a call never got a name (the server's stream is malformed).
   */
  take(): ToolCall[] {
    const calls = this.#calls.splice(0);
    this.#byIndex.clear();
    this.#last = undefined;
    return calls.map((call) => {
      if (call.name === '') throw new Error('the server streamed a tool call without a function name');
      return {
        id: call.id || `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
        name: call.name,
        arguments: call.arguments === '' ? '{}' : call.arguments,
      };
    });
  }

  /** The call a delta continues, or a new one. A new id under a known index is a new call too. */
  #callOf(delta: ToolCallDelta): Pending {
    const index = typeof delta.index === 'number' ? delta.index : undefined;
    const current = index === undefined ? this.#last : this.#byIndex.get(index);
    const startsNew = current === undefined || (Boolean(delta.id) && current.id !== '' && current.id !== delta.id);
    if (!startsNew) return current;
    const call: Pending = { id: '', name: '', arguments: '' };
    this.#calls.push(call);
    if (index !== undefined) this.#byIndex.set(index, call);
    return call;
  }
}
