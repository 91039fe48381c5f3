/**
 * Runs the rag plugin outside a manager, for unit tests: its `initialize` gets a hand-made
 * call whose services are the given search index and model access (the test says which — a
 * {@link hashedModelAccess}, or none), and `extend` / endpoint handlers get calls that record
 * what the plugin set for the response and what it logged.
 */
import {
  type ChatContext,
  type EndpointReply,
  type EndpointRequest,
  type InitializeCall,
  type JsonValue,
  type Logger,
  MemorySearchIndex,
  type ModelAccess,
  modelAccessRef,
  type PluginCall,
  type PluginConfig,
  type SearchIndex,
  type ServiceRef,
  searchIndexRef,
} from '../../../src/index.ts';
import { type RagConfig, ragConfigSchema } from '../config.ts';
import { createRagPlugin, type RagPluginOptions } from '../rag.plugin.ts';

/** One log line a plugin wrote. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly object: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger that keeps its lines. */
export function recordingLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const write = (level: LogLine['level']) => (object: Record<string, unknown>, message?: string) => {
    lines.push({ level, object, message });
  };
  const logger = {
    lines,
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: () => logger,
  };
  return logger;
}

/** A started plugin and what it did. */
export interface RagHarness {
  readonly plugin: ReturnType<typeof createRagPlugin>;
  readonly index: SearchIndex;
  readonly log: LogLine[];
  /** Response data set by the last {@link extend} call. */
  readonly responseData: Map<string, JsonValue>;
  extend(context: ChatContext): Promise<ChatContext>;
  /** Calls the endpoint of that method and path with a request made of `parts`. */
  request(method: string, path: string, parts?: Partial<EndpointRequest>): Promise<EndpointReply>;
}

/**
 * Starts the plugin with `config` (validated like the loader does), the index (a fresh
 * MemorySearchIndex by default) and `access` (absent: no model access service).
 *
 * @example
 * ```ts
 * const rag = await startRag({ chunk_tokens: 64 }, { access: hashedModelAccess() });
 * await rag.request('POST', '/v1/rag/collections/:collection/documents', { params: { collection: 'default' }, … });
 * ```
 */
export async function startRag(
  config: Record<string, unknown> = {},
  options: { index?: SearchIndex; access?: ModelAccess; plugin?: RagPluginOptions } = {},
): Promise<RagHarness> {
  const index = options.index ?? new MemorySearchIndex();
  const log: LogLine[] = [];
  const logger = recordingLogger(log);
  const responseData = new Map<string, JsonValue>();
  const services = {
    get<T>(ref: ServiceRef<T>): T {
      const found = this.find(ref);
      if (found === undefined) throw new Error(`no ${ref.id} in the harness`);
      return found;
    },
    find<T>(ref: ServiceRef<T>): T | undefined {
      if (ref.id === searchIndexRef.id) return index as T;
      if (ref.id === modelAccessRef.id) return options.access as T | undefined;
      return undefined;
    },
  };
  const call = (): PluginCall & InitializeCall => ({
    plugin: 'rag',
    requestId: 'test-request',
    signal: new AbortController().signal,
    logger,
    services,
    setResponseHeader: () => false,
    setResponseData: (key, value) => {
      responseData.set(key, value);
      return true;
    },
    provide: () => {
      throw new Error('rag provides nothing');
    },
  });
  const plugin = createRagPlugin(options.plugin);
  const settings = { config: ragConfigSchema.parse(config) } as unknown as PluginConfig<RagConfig>;
  await plugin.initialize!(settings, call());
  return {
    plugin,
    index,
    log,
    responseData,
    extend: async (context) => {
      responseData.clear();
      return (await plugin.extend(context, call())) as ChatContext;
    },
    request: async (method, path, parts = {}) => {
      const endpoint = plugin.endpoints?.find((entry) => entry.method === method && entry.path === path);
      if (endpoint === undefined) throw new Error(`no endpoint ${method} ${path}`);
      const request = {
        method,
        route: path,
        params: {},
        query: {},
        headers: {},
        body: undefined,
        contentType: undefined,
        principal: undefined,
        ...parts,
      } as EndpointRequest;
      return (await endpoint.handle(request, call())) as EndpointReply;
    },
  };
}
