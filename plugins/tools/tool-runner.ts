/**
 * Runs one tool call: arguments parsed from the model's JSON text, the tool run under its
 * timeout and through its circuit breaker (cockatiel), and the outcome turned into the text the
 * model reads. Never throws: every failure becomes a result the model can act on.
 */
import { performance } from 'node:perf_hooks';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import {
  isPlugboardError,
  type Logger,
  PlugboardError,
  type Principal,
  type RegisteredTool,
  type ToolCall,
  type ToolOutput,
} from '../../src/index.ts';
import { toolsErrors } from './errors.ts';
import type { ToolMetrics, ToolOutcome } from './tool-metrics.ts';

/** What one tool call gave. */
export interface ToolCallResult {
  readonly call: ToolCall;
  readonly outcome: ToolOutcome;
  /** The `tool` message's content: the output as text or JSON text, or an error text. */
  readonly content: string;
  /** The parsed arguments, or the model's text when it is not a JSON object. */
  readonly arguments: unknown;
  readonly durationMs: number;
}

/** Settings of a {@link ToolRunner}. */
export interface ToolRunnerOptions {
  /** Timeout of a tool without its own `timeoutMs`. */
  readonly defaultTimeoutMs: number;
  /** Consecutive failures that open a tool's circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit stays open before one trial call. */
  readonly resetAfterMs: number;
  /** Longest output given to the model; the rest is cut, with a note. */
  readonly maxOutputChars: number;
  readonly metrics?: ToolMetrics;
}

/** Who asks, and the request's signal (aborted when the request is cancelled). */
export interface RunContext {
  readonly requestId: string;
  readonly principal?: Principal;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** The request was cancelled while the tool ran: not the tool's fault. */
class RequestCancelled extends Error {}

/**
 * Runs tools, keeping one circuit breaker per tool name across requests.
 *
 * @example
 * ```ts
 * const runner = new ToolRunner({ defaultTimeoutMs: 30_000, failureThreshold: 5, resetAfterMs: 30_000, maxOutputChars: 20_000 });
 * const result = await runner.run(registry.get('weather')!, toolCall, { requestId, signal, logger });
 * ```
 */
export class ToolRunner {
  readonly #options: ToolRunnerOptions;
  readonly #breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(options: ToolRunnerOptions) {
    this.#options = options;
  }

  async run(tool: RegisteredTool, call: ToolCall, context: RunContext): Promise<ToolCallResult> {
    const started = performance.now();
    const finish = (outcome: ToolOutcome, content: string, args: unknown): ToolCallResult => {
      const durationMs = performance.now() - started;
      this.#options.metrics?.calls.inc({ tool: call.name, outcome });
      this.#options.metrics?.duration.observe({ tool: call.name }, durationMs / 1000);
      return { call, outcome, content, arguments: args, durationMs };
    };
    const parsed = parseArguments(call);
    if (!parsed.ok) return finish('invalid_arguments', errorText(parsed.error.publicMessage), call.arguments);
    const args = parsed.value;
    const timeoutMs = tool.timeoutMs ?? this.#options.defaultTimeoutMs;
    try {
      const output = await this.#breaker(tool.name).execute(() => this.#runTimed(tool, args, timeoutMs, context));
      return finish('ok', this.#outputText(output), args);
    } catch (error) {
      const { outcome, content } = this.#failure(tool, error, timeoutMs, context);
      return finish(outcome, content, args);
    }
  }

  /** Runs the tool under its timeout; a tool that ignores the signal is left behind at the deadline. */
  async #runTimed(tool: RegisteredTool, args: unknown, timeoutMs: number, context: RunContext): Promise<ToolOutput> {
    try {
      return await timeout(timeoutMs, TimeoutStrategy.Aggressive).execute(
        ({ signal }) =>
          tool.run(args, {
            requestId: context.requestId,
            ...(context.principal === undefined ? {} : { principal: context.principal }),
            signal,
          }),
        context.signal,
      );
    } catch (error) {
      if (context.signal.aborted) throw new RequestCancelled('the request was cancelled', { cause: error });
      if (error instanceof TaskCancelledError) {
        throw toolsErrors.TOOL_TIMEOUT(`Tool "${tool.name}" did not answer within ${timeoutMs} ms`);
      }
      throw error;
    }
  }

  #breaker(name: string): CircuitBreakerPolicy {
    let breaker = this.#breakers.get(name);
    if (breaker === undefined) {
      breaker = circuitBreaker(handleWhen(countsAgainstTool), {
        halfOpenAfter: this.#options.resetAfterMs,
        breaker: new ConsecutiveBreaker(this.#options.failureThreshold),
      });
      this.#breakers.set(name, breaker);
    }
    return breaker;
  }

  #failure(
    tool: RegisteredTool,
    error: unknown,
    timeoutMs: number,
    context: RunContext,
  ): { outcome: ToolOutcome; content: string } {
    if (error instanceof RequestCancelled)
      return { outcome: 'aborted', content: errorText('The request was cancelled.') };
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      const unavailable = toolsErrors.TOOL_UNAVAILABLE(
        `Tool "${tool.name}" is out of service for a while after repeated failures; do without it or try later`,
      );
      return { outcome: 'unavailable', content: errorText(unavailable.publicMessage) };
    }
    if (isPlugboardError(error)) {
      // A coded error's message is written for its reader: the model may act on it.
      const outcome: ToolOutcome =
        error.code === toolsErrors.codeOf('TOOL_TIMEOUT')
          ? 'timeout'
          : error.code === toolsErrors.codeOf('TOOL_UNAVAILABLE')
            ? 'unavailable'
            : error.code === 'TOOL_ARGUMENTS_INVALID'
              ? 'invalid_arguments'
              : 'error';
      if (outcome === 'timeout') context.logger.warn({ tool: tool.name, timeoutMs }, 'tool timed out');
      return { outcome, content: errorText(error.publicMessage) };
    }
    // An unexpected exception: its text could quote anything (a secret, a path); the log gets it.
    context.logger.error({ tool: tool.name, owner: tool.owner, err: error }, 'tool failed');
    return { outcome: 'failed', content: errorText(toolsErrors.TOOL_FAILED(`Tool "${tool.name}" failed`).message) };
  }

  #outputText(output: ToolOutput): string {
    const text = typeof output === 'string' ? output : JSON.stringify(output);
    return truncate(text ?? '', this.#options.maxOutputChars);
  }
}

/**
 * Whether a failure counts towards the tool's breaker: the tool's own faults (timeouts,
 * exceptions, 5xx-coded errors) do; the model's (bad arguments), a tool's deliberate refusals
 * (4xx-coded errors) and a cancelled request do not.
 */
function countsAgainstTool(error: Error): boolean {
  if (error instanceof RequestCancelled) return false;
  if (isPlugboardError(error)) return error.status >= 500;
  return true;
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: PlugboardError };

/** The model's arguments text as an object: empty text is `{}` (models send nothing for no parameters). */
function parseArguments(call: ToolCall): Parsed {
  const text = call.arguments.trim();
  if (text === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: argumentsInvalid(call, 'they are not valid JSON') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: argumentsInvalid(call, 'they must be a JSON object') };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function argumentsInvalid(call: ToolCall, why: string): PlugboardError {
  return new PlugboardError(
    'TOOL_ARGUMENTS_INVALID',
    `Invalid arguments for tool "${call.name}": ${why}. Call it again with a JSON object that matches its parameters.`,
  );
}

function errorText(message: string): string {
  return `Error: ${message}`;
}

/**
 * `text` cut to `max` characters, with a note of how much was left out.
 *
 * @example
 * ```ts
 * truncate('abcdef', 3); // 'abc… [3 more characters cut]'
 * ```
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters cut]`;
}
