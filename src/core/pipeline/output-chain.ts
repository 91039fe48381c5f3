// The global `performance` is an accessor (~7 ns a read); the module's export is the same object.
import { performance } from 'node:perf_hooks';
import { circuitOpen, failedClosed, pluginTimeout } from '../errors/core-errors.ts';
import { isRefusal, PlugboardError, toPlugboardError } from '../errors/plugboard-error.ts';
import type { PluginCircuitBreaker } from '../execution/circuit-breaker.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { attribute, invokeGuarded } from '../execution/invoke.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import { stepOf } from '../hooks/hook-manager.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { PluginStep } from '../model/reply.ts';
import type { RemoteStreamingSupport, StreamingSupport } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { messageValidator } from './validators.ts';

/** What the chain needs from the pipeline. */
export interface OutputChainEnv {
  readonly deadlines: DeadlineScheduler;
  readonly scope: RequestScope;
  readonly steps: PluginStep[];
  /** Called when a fail-open processor failed (for the error hook). */
  readonly onBypass: (error: PlugboardError) => void;
}

/**
 * Runs the output message processors over the model's text as it arrives.
 *
 * Each processor is a stage. A processor with `streaming` support, when streaming, is a
 * *windowed* stage: it holds back at most `window` characters and transforms the rest as
 * it settles. Any other processor (and every processor when not streaming) is a
 * *buffering* stage: it collects the whole reply and runs `processMessage` on it at the
 * end. Text flows stage to stage, so the concatenation of what the chain emits is the same
 * text the non-streaming path produces — provided each windowed transform agrees with its
 * processor's `processMessage` (which `createPatternRewriter` guarantees).
 *
 * A failing fail-open stage is bypassed for the rest of the reply: the text it had not
 * emitted yet is passed on untransformed, never lost. A fail-closed stage's failure throws.
 */
export class OutputChain {
  readonly #stages: Stage[];
  readonly #clock = new StageClock();

  constructor(
    processors: readonly PluginRecord[],
    streaming: boolean,
    private readonly env: OutputChainEnv,
  ) {
    this.#stages = processors.map((record) => {
      const support = record.plugin.streaming;
      if (!streaming || support === undefined) return new BufferingStage(record);
      return 'remote' in support
        ? new RemoteWindowedStage(record, support, env)
        : new WindowedStage(record, support, env, this.#clock);
    });
  }

  /** True when every stage streams: text can be emitted as it comes. */
  get isEmpty(): boolean {
    return this.#stages.length === 0;
  }

  /**
   * Feeds new model text through every stage; returns what may be emitted now. A string when
   * every stage ran in process; a promise once a stage works in another process (a sandboxed
   * processor): the caller awaits it before pushing the next chunk.
   */
  push(text: string, context: ChatContext): string | Promise<string> {
    let flowing = text;
    this.#clock.reset();
    const stages = this.#stages;
    for (let index = 0; index < stages.length; index++) {
      if (flowing === '') break;
      const output = stages[index]!.push(flowing, context);
      if (typeof output !== 'string') return this.#pushRest(output, index + 1, context);
      flowing = output;
    }
    return flowing;
  }

  async #pushRest(pending: Promise<string>, from: number, context: ChatContext): Promise<string> {
    let flowing = await pending;
    const stages = this.#stages;
    for (let index = from; index < stages.length; index++) {
      if (flowing === '') break;
      this.#clock.reset();
      flowing = await stages[index]!.push(flowing, context);
    }
    return flowing;
  }

  /**
   * Ends the reply: flushes every stage in order, running buffering stages'
   * `processMessage` on the whole text. `message` carries the non-text parts (tool calls,
   * thinking), which buffering stages may also change. Returns the text still to emit and
   * the final message.
   */
  async finish(message: Message, context: ChatContext): Promise<{ text: string; message: Message }> {
    let flowing = '';
    let current = message;
    for (const stage of this.#stages) {
      const result = await stage.finish(flowing, current, context, this.env);
      flowing = result.text;
      current = result.message;
    }
    return { text: flowing, message: current };
  }
}

interface Stage {
  push(text: string, context: ChatContext): string | Promise<string>;
  finish(
    incoming: string,
    message: Message,
    context: ChatContext,
    env: OutputChainEnv,
  ): Promise<{ text: string; message: Message }>;
}

/** Holds everything, then runs `processMessage` once on the whole reply. */
class BufferingStage implements Stage {
  #buffer = '';

  constructor(private readonly record: PluginRecord) {}

  push(text: string): string {
    this.#buffer += text;
    return '';
  }

  async finish(incoming: string, message: Message, context: ChatContext, env: OutputChainEnv) {
    // Frozen like every message a plugin is given: a processor that changes it in place
    // fails inside itself and is named, instead of breaking whoever reads the message next.
    const whole: Message = deepFreeze({ ...message, content: this.#buffer + incoming });
    this.#buffer = '';
    const record = this.record;
    const result = await invokeGuarded(
      env.deadlines,
      record,
      PROCESS_OUTPUT,
      (call) => record.plugin.processMessage!(whole, context, call),
      messageValidator(whole),
      { scope: env.scope },
    );
    env.steps.push(stepOf(record.name, PROCESS_OUTPUT, result));
    if (result.ok) return { text: result.value.content, message: result.value };
    failOrBypass(record, result.error, env);
    return { text: whole.content, message: whole };
  }
}

/**
 * Transforms text as it settles, holding back at most `window` characters. The transform is
 * synchronous and runs per chunk, so it gets a light guard (try/catch, breaker, metrics)
 * instead of the full asynchronous one.
 */
class WindowedStage implements Stage {
  #pending = '';
  #bypassed = false;
  /** The transform's own breaker: its failures are counted apart from processMessage's. */
  readonly #breaker: PluginCircuitBreaker;

  constructor(
    private readonly record: PluginRecord,
    private readonly support: StreamingSupport,
    private readonly env: OutputChainEnv,
    private readonly clock: StageClock,
  ) {
    this.#breaker = record.breakers.for(TRANSFORM);
  }

  push(text: string, context: ChatContext): string {
    if (this.#bypassed) {
      // Text held back before the failure goes first, untransformed: never lost or reordered.
      const rest = this.#pending + text;
      this.#pending = '';
      return rest;
    }
    const pending = this.#pending + text;
    const hold = this.#holdBack(pending);
    if (hold === pending.length) {
      this.#pending = pending;
      return '';
    }
    const settled = pending.slice(0, pending.length - hold);
    this.#pending = pending.slice(pending.length - hold);
    return this.#transform(settled, context, false);
  }

  async finish(incoming: string, message: Message, context: ChatContext) {
    const rest = this.#pending + incoming;
    this.#pending = '';
    this.clock.reset();
    const text = this.#bypassed || rest === '' ? rest : this.#transform(rest, context, true);
    return { text, message: { ...message, content: message.content } };
  }

  #holdBack(pending: string): number {
    const window = Math.min(this.support.window, pending.length);
    if (this.support.holdBack === undefined) return window;
    try {
      const asked = this.support.holdBack(pending);
      return Number.isInteger(asked) ? Math.max(0, Math.min(asked, window)) : window;
    } catch {
      return window; // a broken holdBack only costs latency: hold the whole window
    }
  }

  #transform(text: string, context: ChatContext, final: boolean): string {
    const record = this.record;
    const breaker = this.#breaker;
    if (!breaker.admitsCall || record.breakers.strayCircuitOpen()) {
      this.#bypass(circuitOpen(record.name, TRANSFORM, breaker.status), false);
      return text;
    }
    const clock = this.clock;
    const start = clock.mark >= 0 ? clock.mark : performance.now();
    try {
      const output = this.support.transform(text, context, final);
      if (typeof output !== 'string')
        throw new PlugboardError('PLUGIN_INVALID_RESULT', 'streaming.transform must return a string');
      const end = performance.now();
      clock.mark = end;
      // A transform that blocked past its timeout overran, though it returned (see invoke.ts).
      if (end - start > record.config.timeoutMs) throw pluginTimeout(record.name, TRANSFORM, record.config.timeoutMs);
      record.metrics.record(TRANSFORM, 'success', end - start, clock.wall());
      // A success while the circuit is not closed is its trial: report it so the breaker closes.
      if (breaker.isOpen) void breaker.run(() => Promise.resolve()).catch(() => undefined);
      return output;
    } catch (thrown) {
      if (isRefusal(thrown)) {
        // Not a failure: the processor withheld the text on purpose; the reply ends with its error.
        record.metrics.record(TRANSFORM, 'success', performance.now() - start);
        throw attribute(thrown as PlugboardError, record.name, TRANSFORM);
      }
      const error = toPlugboardError(thrown, 'PLUGIN_CALL_FAILED', { plugin: record.name, hook: TRANSFORM });
      const durationMs = performance.now() - start;
      record.metrics.record(TRANSFORM, error.code === 'PLUGIN_TIMEOUT' ? 'timeout' : 'failure', durationMs);
      record.lastError = error;
      // Logged as any failed plugin call is: the plugin, the request, the stack once.
      record.logger.error(
        {
          operation: TRANSFORM,
          request_id: this.env.scope.requestId,
          duration_ms: Math.round(durationMs * 1000) / 1000,
          success: false,
          error: error.code,
          cause: error.message,
          ...(record.isNewFailure(TRANSFORM, error.message) ? { err: error.cause ?? error } : {}),
        },
        `${TRANSFORM} failed`,
      );
      // Let the breaker count it, through the same path as every other failure.
      void breaker.run(() => Promise.reject(error)).catch(() => undefined);
      this.#bypass(error, true);
      return text;
    }
  }

  #bypass(error: PlugboardError, failed: boolean): void {
    this.#bypassed = true;
    this.env.steps.push({
      plugin: this.record.name,
      operation: TRANSFORM,
      outcome: failed ? 'bypassed' : 'skipped',
      durationMs: 0,
      errorCode: error.code,
    });
    failOrBypass(this.record, error, this.env);
  }
}

/**
 * A windowed stage whose processor runs in another process (a sandboxed plugin): each chunk is
 * one asynchronous call that holds back and transforms at once, guarded as any plugin call is
 * (timeout, breaker, metrics, log). On failure it is bypassed like an in-process windowed stage:
 * the text it held goes on untransformed, never lost.
 */
class RemoteWindowedStage implements Stage {
  #pending = '';
  #bypassed = false;

  constructor(
    private readonly record: PluginRecord,
    private readonly support: RemoteStreamingSupport,
    private readonly env: OutputChainEnv,
  ) {}

  push(text: string, context: ChatContext): string | Promise<string> {
    const pending = this.#pending + text;
    this.#pending = '';
    if (this.#bypassed) return pending;
    return this.#settle(pending, context, false);
  }

  async finish(incoming: string, message: Message, context: ChatContext) {
    const rest = this.#pending + incoming;
    this.#pending = '';
    const text = this.#bypassed || rest === '' ? rest : await this.#settle(rest, context, true);
    return { text, message: { ...message, content: message.content } };
  }

  async #settle(pending: string, context: ChatContext, final: boolean): Promise<string> {
    const { record, support, env } = this;
    const result = await invokeGuarded(
      env.deadlines,
      record,
      TRANSFORM,
      (call) => support.settle(pending, context, final, call.signal),
      (value: unknown) => {
        const settled = value as { text?: unknown; held?: unknown };
        const held = settled?.held;
        if (
          typeof settled?.text !== 'string' ||
          !Number.isInteger(held) ||
          (held as number) < 0 ||
          (held as number) > pending.length
        ) {
          throw new PlugboardError('PLUGIN_INVALID_RESULT', 'streaming.transform must return a string');
        }
        return settled as { text: string; held: number };
      },
      { scope: env.scope },
    );
    if (result.ok) {
      this.#pending = pending.slice(pending.length - result.value.held);
      return result.value.text;
    }
    if (isRefusal(result.error)) throw attribute(result.error, record.name, TRANSFORM);
    this.#bypassed = true;
    env.steps.push({
      plugin: record.name,
      operation: TRANSFORM,
      outcome: 'bypassed',
      durationMs: 0,
      errorCode: result.error.code,
    });
    failOrBypass(record, result.error, env);
    return pending;
  }
}

/**
 * Clock readings shared by the windowed stages of one pass over a chunk: the end of one
 * transform is the start of the next (what lies between is the next stage's own holdBack),
 * and one wall-clock reading serves every stage's metrics. Clock reads cost ~50 ns each
 * here, a good part of a transform's guard; this halves them for chained stages.
 */
class StageClock {
  /** performance.now() of the last reading in this pass, or -1. */
  mark = -1;
  #wall = 0;

  reset(): void {
    this.mark = -1;
    this.#wall = 0;
  }

  /** Date.now(), read once per pass. */
  wall(): number {
    if (this.#wall === 0) this.#wall = Date.now();
    return this.#wall;
  }
}

function failOrBypass(record: PluginRecord, error: PlugboardError, env: OutputChainEnv): void {
  // A refusal (content withheld by policy) ends the reply with the plugin's own error.
  if (isRefusal(error)) throw error;
  if (record.config.failurePolicy === 'closed') throw failedClosed(record.name, error);
  env.onBypass(error);
}

/** The operation name of windowed transforms, in metrics, steps and breakers. */
const TRANSFORM = 'streaming.transform';

/** The operation name of output processors' processMessage (input ones: `processMessage.input`). */
export const PROCESS_OUTPUT = 'processMessage.output';
