/**
 * The token_counter middleware: prompt and completion tokens of every request — the backend's
 * own counts where it reports them, else an estimate — in the response's metadata, Prometheus
 * and the log; per-request limits and per-principal token budgets in the key-value store.
 * See README.md.
 */
import {
  type ChatContext,
  type ChatResponse,
  defineMiddleware,
  type HealthReport,
  type HookPayload,
  type KeyValueStore,
  keyValueStoreRef,
  type Logger,
  type MetricCounter,
  type Middleware,
  metricsRef,
  type PlugboardError,
  type PluginCall,
  type RejectDecision,
  type Usage,
  updateContext,
} from '../../src/index.ts';
import { BudgetBook, budgetHeaders, budgetRefusal } from './budgets.ts';
import { COUNTED_OPERATIONS, type TokenCounterConfig, tokenCounterConfigSchema } from './config.ts';
import { tokenCounterErrors } from './errors.ts';
import { completionEstimate, promptEstimate } from './estimate.ts';
import { LazyTokenizer, tokenizerChoice } from './tokenizer.ts';

/** Where a request's counts came from. */
export type TokenSource = 'backend' | 'estimate';

/** What the plugin puts in `response.metadata.tokens`. */
export interface TokenMetadata {
  readonly prompt: number;
  readonly completion: number;
  readonly source: TokenSource;
  /** The tokenizer of an estimate (`gpt-tokenizer:o200k_base`, `huggingface:tokenizer.json`, `chars`); absent for the backend's counts. */
  readonly tokenizer?: string;
}

/** One request's counts, as recorded (metrics, log, budgets). */
export interface TokenRecord extends TokenMetadata {
  readonly requestId: string;
  readonly operation: string;
  readonly model: string;
  readonly backend: string;
  /** The principal's id, or `null` for an anonymous request. */
  readonly principal: string | null;
  /** Whether the tokens were charged to the budgets (false: no budget applies, an answer no backend gave, or the store failed). */
  readonly charged: boolean;
}

/** What an embedder or a test may give the plugin besides its config. */
export interface TokenCounterPluginOptions {
  /** Told once each request's counts were recorded and charged: tests wait on it by count, never by time. */
  readonly onRecorded?: (record: TokenRecord) => void;
  /** The clock of the budget windows (epoch ms; default `Date.now`). */
  readonly now?: () => number;
}

/** What `initialize` builds from the config. */
interface Ready {
  readonly config: TokenCounterConfig;
  readonly tokenizer: LazyTokenizer;
  readonly book: BudgetBook;
  readonly tokens: MetricCounter<'direction' | 'model' | 'backend' | 'principal' | 'source'>;
  readonly refusals: MetricCounter<'reason' | 'budget' | 'principal'>;
}

const COUNTED: ReadonlySet<string> = new Set(COUNTED_OPERATIONS);

/**
 * A fresh token_counter plugin (each instance — a config reload makes a new one next to the
 * running one — loads its own tokenizer; budgets live in the key-value store and carry over).
 *
 * - `processRequest`: the per-request limits (a prompt estimate only when `max_prompt_tokens`
 *   is set) and the budgets (one store read per budget); refusals are 413, 400 or 429.
 * - `processResponse` (chat and generate): `metadata.tokens`, and `usage` filled from an
 *   estimate when the backend reported none — before `requestEnd`, so the logging plugin and
 *   the server's own token metrics get it too.
 * - `onRequestEnd` (every operation): metrics, the log line and the budget charge, in the
 *   background: the response never waits for the store.
 *
 * @example
 * ```ts
 * const manager = await startManager([
 *   backend,
 *   [createTokenCounterPlugin, { config: { budgets: { per_principal: [{ tokens: 100_000, per_seconds: 86_400 }] } } }],
 * ]);
 * ```
 */
export function createTokenCounterPlugin(options: TokenCounterPluginOptions = {}): Middleware<TokenCounterConfig> {
  const now = options.now ?? Date.now;
  let ready: Ready | undefined;
  /** Records being charged: shutdown waits for them. */
  const pending = new Set<Promise<void>>();
  const started = (): Ready => {
    // The runtime calls no method of a plugin that did not start; reaching this is a bug.
    if (ready === undefined) throw new Error('token_counter: called before it was initialized');
    return ready;
  };

  const refuse = (
    state: Ready,
    error: PlugboardError,
    reason: string,
    context: ChatContext,
    budget?: string,
  ): RejectDecision => {
    state.refusals.inc({ reason, ...(budget === undefined ? {} : { budget }), ...principalLabel(state, context) });
    return { decision: 'reject', error };
  };

  /** The checks of a request under some limit or budget (see processRequest's fast path). */
  const admit = async (state: Ready, context: ChatContext, call: PluginCall): Promise<ChatContext | RejectDecision> => {
    const limits = state.config.budgets.per_request;
    let admitted = context;

    if (limits.max_completion_tokens !== undefined && context.operation !== 'embeddings') {
      const asked = context.options.maxTokens;
      if (asked !== undefined && asked > limits.max_completion_tokens) {
        const error = tokenCounterErrors.COMPLETION_TOO_LARGE(
          `The request asks for up to ${asked} completion tokens (max_tokens); the limit per request is ${limits.max_completion_tokens}.`,
        );
        return refuse(state, error, 'completion_too_large', context);
      }
      // Without max_tokens the backend could run to the model's context length: the limit caps it.
      if (asked === undefined) {
        admitted = updateContext(context, {
          options: { ...context.options, maxTokens: limits.max_completion_tokens },
        });
      }
    }

    if (limits.max_prompt_tokens !== undefined) {
      const tokenizer = await state.tokenizer.get();
      const estimate = promptEstimate(tokenizer, context);
      if (estimate > limits.max_prompt_tokens) {
        const error = tokenCounterErrors.PROMPT_TOO_LARGE(
          `The prompt is estimated at ${estimate} tokens (${tokenizer.name}); the limit per request is ${limits.max_prompt_tokens}.`,
          { details: { estimate, limit: limits.max_prompt_tokens, tokenizer: tokenizer.name } },
        );
        return refuse(state, error, 'prompt_too_large', context);
      }
    }

    const check = await state.book.check(context);
    const at = now();
    switch (check.kind) {
      case 'over':
        return refuse(state, budgetRefusal(check.state, check.described, at), 'budget', context, check.state.name);
      case 'store_down':
        if (check.policy === 'closed') {
          return {
            decision: 'reject',
            error: tokenCounterErrors.STORE_UNAVAILABLE(
              'The token counter cannot read its budgets, and refuses budgeted requests until it can (on_store_error: closed).',
            ),
          };
        }
        break;
      case 'within':
        for (const [name, value] of Object.entries(budgetHeaders(check.tightest, at))) {
          call.setResponseHeader(name, value);
        }
        break;
      case 'none':
        break;
    }
    return admitted;
  };

  return defineMiddleware<TokenCounterConfig>({
    metadata: {
      name: 'token_counter',
      version: '1.0.0',
      description: 'Counts prompt and completion tokens per request (backend counts or estimates); token budgets',
      configSchema: tokenCounterConfigSchema,
      errors: tokenCounterErrors,
      consumes: [keyValueStoreRef, metricsRef],
      // Counting is observability: a bug in it must not take the API down. Refusals (413, 429)
      // are decisions, not failures, and end the request whatever this says; a store outage is
      // on_store_error's to decide. An operator who wants budgets enforced or nothing sets
      // failure_policy: closed.
      failurePolicy: 'open',
      // After auth (CRITICAL), so the principal is known; before the NORMAL middleware.
      priority: 'HIGH',
    },
    async initialize(config, call) {
      const settings = config.config;
      const tokenizer = new LazyTokenizer(tokenizerChoice(settings), settings.chars_per_token, call.logger);
      await tokenizer.check();
      const store: KeyValueStore = call.services.get(keyValueStoreRef).withPrefix(settings.key_prefix);
      const metrics = call.services.get(metricsRef);
      ready = {
        config: settings,
        tokenizer,
        book: new BudgetBook(settings.budgets.per_principal, store, {
          anonymous: settings.budgets.anonymous,
          onStoreError: settings.on_store_error,
          logger: call.logger,
          now,
        }),
        // The label set never depends on the config (metrics.by_principal only leaves the label
        // out of samples): a reloaded instance must define the same metric as the old one.
        tokens: metrics.counter({
          name: 'token_counter_tokens_total',
          help: 'Prompt and completion tokens of completed requests, by model, backend, principal and source (backend count or estimate)',
          labelNames: ['direction', 'model', 'backend', 'principal', 'source'],
        }),
        refusals: metrics.counter({
          name: 'token_counter_budget_refusals_total',
          help: 'Requests the token counter refused: over a budget, a prompt over the per-request limit, or max_tokens over it',
          labelNames: ['reason', 'budget', 'principal'],
        }),
      };
      // Not awaited: start-up does not wait for the tables, the first estimate does if need be.
      if (settings.preload) void tokenizer.get();
    },

    processRequest(context, call) {
      const state = started();
      if (!COUNTED.has(context.operation)) return context;
      const { per_request: limits, per_principal: budgets } = state.config.budgets;
      // Counting only (the shipped configuration): nothing to check, and no promise per request.
      if (
        limits.max_completion_tokens === undefined &&
        limits.max_prompt_tokens === undefined &&
        budgets.length === 0
      ) {
        return context;
      }
      return admit(state, context, call);
    },

    processResponse(response, context) {
      const state = started();
      if (response.usage !== undefined) {
        const tokens: TokenMetadata = {
          prompt: response.usage.promptTokens,
          completion: response.usage.completionTokens,
          source: 'backend',
        };
        return { ...response, metadata: { ...response.metadata, tokens } };
      }
      return withEstimate(state, response, context);
    },

    onRequestEnd(payload, call) {
      const state = ready;
      if (state === undefined || payload.outcome !== 'completed' || !COUNTED.has(payload.context.operation)) return;
      // Not returned: the hook runs at the plugin's priority (HIGH), and the request would wait
      // for the store. The promise never rejects; shutdown waits for it.
      const recording: Promise<void> = record(state, payload, call, options.onRecorded).finally(() =>
        pending.delete(recording),
      );
      pending.add(recording);
    },

    healthCheck(): HealthReport {
      if (ready === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const { tokenizer, book } = ready;
      const details = {
        tokenizer: tokenizer.loaded?.name ?? 'not loaded (loads on the first estimate)',
        budgets: book.size,
        recording: pending.size,
      };
      const down = book.down;
      if (down !== undefined) {
        return {
          status: 'degraded',
          message: `the key-value store fails since ${new Date(down.since).toISOString()}: ${down.reason}; budgets are ${
            ready.config.on_store_error === 'open' ? 'not enforced' : 'refusing requests (503)'
          }`,
          details: { ...details, store_down_since: new Date(down.since).toISOString() },
        };
      }
      if (tokenizer.failure !== undefined) {
        return {
          status: 'degraded',
          message: `the tokenizer could not be loaded (${tokenizer.failure}); estimates use characters / chars_per_token`,
          details,
        };
      }
      return { status: 'healthy', details };
    },

    async shutdown() {
      await Promise.all(pending);
    },
  });
}

/** The principal label, unless `metrics.by_principal` is off. */
function principalLabel(state: Ready, context: ChatContext): { principal?: string } {
  return state.config.metrics.by_principal ? { principal: context.principal?.id ?? 'anonymous' } : {};
}

/**
 * Records one completed request: its counts (the response's usage, which processResponse
 * filled when the backend gave none; an estimate of the inputs for embeddings without
 * counts), the metrics, the log line, and the budget charge. Never rejects.
 */
async function record(
  state: Ready,
  payload: HookPayload<'requestEnd'>,
  call: PluginCall,
  onRecorded: ((record: TokenRecord) => void) | undefined,
): Promise<void> {
  const logger: Logger = call.logger;
  try {
    const { context, response } = payload;
    const counted = await countsOf(state, payload);
    const model = response?.model ?? context.model ?? 'unknown';
    const backend = response?.backend ?? context.backend ?? 'unknown';
    const labels = (direction: string) => ({
      direction,
      model,
      backend,
      ...principalLabel(state, context),
      source: counted.source,
    });
    state.tokens.inc(labels('prompt'), counted.prompt);
    state.tokens.inc(labels('completion'), counted.completion);
    // An answer no backend gave (a cache hit) cost nothing: it is counted, not charged.
    const answered = response !== undefined && response.metadata.answeredBy !== undefined;
    const charged =
      !answered &&
      state.book.size > 0 &&
      (await state.book.charge(context, counted.prompt + counted.completion)) === 'charged';
    const entry: TokenRecord = {
      requestId: context.requestId,
      operation: context.operation,
      model,
      backend,
      principal: context.principal?.id ?? null,
      ...counted,
      charged,
    };
    if (state.config.log_level !== 'none') {
      logger[state.config.log_level](
        {
          operation: entry.operation,
          model,
          backend,
          principal: entry.principal,
          prompt_tokens: entry.prompt,
          completion_tokens: entry.completion,
          source: entry.source,
          ...(entry.tokenizer === undefined ? {} : { tokenizer: entry.tokenizer }),
          charged,
        },
        'token counter: tokens counted',
      );
    }
    onRecorded?.(entry);
  } catch (error) {
    logger.error(
      { error: error instanceof Error ? error.message : String(error) },
      'token counter: could not record a request’s tokens',
    );
  }
}

/** A request's counts: the backend's, or an estimate (for chat and generate, processResponse made it). */
async function countsOf(state: Ready, payload: HookPayload<'requestEnd'>): Promise<TokenMetadata> {
  const { context, response } = payload;
  const usage = payload.usage ?? response?.usage;
  const marked = response?.metadata.tokens as TokenMetadata | undefined;
  if (usage !== undefined) {
    return {
      prompt: usage.promptTokens,
      completion: usage.completionTokens,
      source: marked?.source ?? 'backend',
      ...(marked?.tokenizer === undefined ? {} : { tokenizer: marked.tokenizer }),
    };
  }
  // Embeddings from a backend that gave no count, or a reply whose processResponse was bypassed.
  const tokenizer = await state.tokenizer.get();
  return {
    prompt: promptEstimate(tokenizer, context),
    completion: response === undefined ? 0 : completionEstimate(tokenizer, response.message),
    source: 'estimate',
    tokenizer: tokenizer.name,
  };
}

/** The response's counts as the plugin marked them, if it did (for readers of `ChatResponse.metadata`). */
export function tokensOf(response: ChatResponse): TokenMetadata | undefined {
  return response.metadata.tokens as TokenMetadata | undefined;
}

export default createTokenCounterPlugin;

/** The response with an estimated usage, marked as such (the backend reported none). */
async function withEstimate(state: Ready, response: ChatResponse, context: ChatContext): Promise<ChatResponse> {
  const tokenizer = await state.tokenizer.get();
  const usage: Usage = {
    promptTokens: promptEstimate(tokenizer, context),
    completionTokens: completionEstimate(tokenizer, response.message),
  };
  const tokens: TokenMetadata = {
    prompt: usage.promptTokens,
    completion: usage.completionTokens,
    source: 'estimate',
    tokenizer: tokenizer.name,
  };
  return { ...response, usage, metadata: { ...response.metadata, tokens } };
}
