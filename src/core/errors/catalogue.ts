/**
 * The one catalogue of Plugboard's coded errors.
 *
 * Every error the runtime raises or records carries a `code` from this table, so that
 * operators can search logs for it, the HTTP layer can map it to a status, and tests can
 * assert on it instead of on message wording. Each entry says what went wrong (`summary`),
 * what to do about it (`hint`), and which HTTP status fits when the error reaches a client.
 */
export const errorCatalogue = {
  PLUGIN_MODULE_LOAD_FAILED: {
    summary: 'The plugin module could not be imported',
    hint: 'Check the file for syntax errors and that its imports resolve; the cause holds the original error.',
    status: 500,
  },
  PLUGIN_INVALID_STRUCTURE: {
    summary: 'The plugin module does not have the shape of a plugin',
    hint: 'Export a plugin object, class or factory (see definePlugin) with `metadata` and the methods of its kinds.',
    status: 500,
  },
  PLUGIN_DUPLICATE_NAME: {
    summary: 'Another plugin with this name is already loaded',
    hint: 'Plugin names must be unique: rename one of them in its metadata or unload the other first.',
    status: 409,
  },
  PLUGIN_NOT_FOUND: {
    summary: 'No plugin with this name is loaded',
    hint: 'List the loaded plugins with getPluginStatus() (GET /plugins) and check the spelling.',
    status: 404,
  },
  PLUGIN_CONFIG_INVALID: {
    summary: "The plugin's configuration does not match the schema it declares",
    hint: "Fix the plugin's `config` section; the issues list each offending key.",
    status: 400,
  },
  PLUGIN_DEPENDENCY_MISSING: {
    summary: 'A plugin this plugin depends on is not loaded or did not start',
    hint: 'Load and enable the dependency, or remove it from the dependent plugin metadata.',
    status: 500,
  },
  PLUGIN_DEPENDENCY_VERSION: {
    summary: 'A dependency is loaded but its version is outside the declared range',
    hint: 'Install a version of the dependency that satisfies the range, or widen the range.',
    status: 500,
  },
  PLUGIN_DEPENDENCY_CYCLE: {
    summary: 'Plugins depend on each other in a cycle',
    hint: 'Break the cycle shown in the path by removing one of the dependencies.',
    status: 500,
  },
  SERVICE_INVALID: {
    summary: 'A service ref or a provided service is malformed',
    hint: 'Service ids are dotted lower-case words; a provided value must have every member its ref lists.',
    status: 500,
  },
  METRIC_INVALID: {
    summary: 'A plugin defined a metric with a malformed name or labels, or one that clashes with another',
    hint: "Metric and label names are Prometheus names ([a-zA-Z_:][a-zA-Z0-9_:]*); one name has one kind, help and label set in the whole process — prefix yours with your plugin's name.",
    status: 500,
  },
  SERVICE_NOT_PROVIDED: {
    summary: 'A plugin consumes a service that no active plugin provides',
    hint: 'Enable a plugin that provides the service (the message names candidates), or make the dependency optional.',
    status: 500,
  },
  SERVICE_AMBIGUOUS: {
    summary: 'Several plugins provide a service a plugin consumes, and none is chosen',
    hint: "Bind one in the consumer's entry: `services: { <service id>: <provider plugin> }`.",
    status: 500,
  },
  SERVICE_NOT_DECLARED: {
    summary: 'A plugin asked for a service it does not declare in metadata.consumes',
    hint: 'List the service ref in `metadata.consumes`, so that its provider starts first.',
    status: 500,
  },
  SERVICE_UNAVAILABLE: {
    summary: 'An optional service has no provider',
    hint: 'Use `call.services.find(ref)` for optional services and handle `undefined`.',
    status: 503,
  },
  STORE_INVALID_ARGUMENT: {
    summary: 'A store was called with an argument it cannot take',
    hint: 'The message names the argument (keys are non-empty strings, values JSON, counters whole numbers).',
    status: 400,
  },
  STORE_NOT_FOUND: {
    summary: 'The record asked of a store does not exist (or belongs to someone else)',
    hint: 'Check the id; a principal sees only its own records.',
    status: 404,
  },
  STORE_FAILED: {
    summary: 'A store could not complete the operation (its server is unreachable or refused it)',
    hint: 'Check the connection the store uses (GET /health lists each connection and its state).',
    status: 503,
  },
  TOOL_INVALID: {
    summary: 'A plugin registered a malformed tool, or one whose name another plugin holds',
    hint: 'Tool names are 1–64 letters, digits, "_" or "-", unique across plugins; parameters is a JSON Schema object; build tools with defineTool.',
    status: 500,
  },
  TOOL_ARGUMENTS_INVALID: {
    summary: 'The model called a tool with arguments its schema refuses',
    hint: 'The message names each bad field; the model is told and may call the tool again.',
    status: 400,
  },
  PLUGIN_INIT_FAILED: {
    summary: 'The plugin failed to initialize',
    hint: 'See the cause; the plugin stays in ERROR state and the rest of the system runs without it.',
    status: 500,
  },
  PLUGIN_SHUTDOWN_FAILED: {
    summary: 'The plugin failed to shut down cleanly',
    hint: 'See the cause; its resources may not have been released.',
    status: 500,
  },
  // A plugin's fault while serving a request is a 502, like a backend's (BACKEND_FAILED): 500
  // is kept for bugs in Plugboard itself (INTERNAL_ERROR). See docs/API.md, "Errors".
  PLUGIN_CALL_FAILED: {
    summary: 'The plugin threw or rejected while handling a call',
    hint: 'See the cause for the stack; the call was isolated and the pipeline continued per the failure policy.',
    status: 502,
  },
  PLUGIN_TIMEOUT: {
    summary: 'The plugin did not finish within its timeout',
    hint: 'Make the plugin faster, honour the AbortSignal it is given, or raise its `timeout` in config.',
    status: 504,
  },
  PLUGIN_SANDBOX_UNAVAILABLE: {
    summary: "The sandboxed plugin's process could not be started, or gave up after repeated crashes",
    hint: 'The log and GET /plugins (sandbox) say why: a platform without what the sandbox needs, a plugin that crashes at start, or too many crashes in a row; fix it and reload the plugin.',
    status: 503,
  },
  PLUGIN_SANDBOX_CRASHED: {
    summary: "The sandboxed plugin's process died while the call was running",
    hint: 'The plugin crashed, exited or was killed; the supervisor restarts it with backoff. GET /plugins (sandbox.lastExit) and the log say how it ended.',
    status: 502,
  },
  PLUGIN_SANDBOX_LIMIT: {
    summary: "The sandboxed plugin's process was killed for exceeding a resource limit (memory or CPU)",
    hint: 'Raise the limit (sandbox.memory_mb / sandbox.cpu_percent, or security.plugin_sandboxing) if the plugin needs it, or fix the plugin; the log says which limit and what was observed.',
    status: 502,
  },
  PLUGIN_SANDBOX_UNSUPPORTED: {
    summary: 'The plugin uses something a sandboxed plugin cannot (for example HTTP endpoints or providing services)',
    hint: 'Run it unsandboxed (mark it `trusted: true`) if you trust its code, or drop that part; the message names what is not supported.',
    status: 500,
  },
  PLUGIN_IMPORT_DENIED: {
    summary: 'A sandboxed plugin imported a module its import policy denies',
    hint: 'The message names the module and the rule (security.denied_imports / allowed_imports, or the sandbox entry); allow it there if the plugin really needs it.',
    status: 500,
  },
  PLUGIN_CIRCUIT_OPEN: {
    summary: "The plugin's circuit breaker is open after repeated failures; the call was skipped",
    hint: 'Fix the underlying failure; the breaker half-opens after its timeout, or reset it by hand.',
    status: 503,
  },
  PLUGIN_INVALID_RESULT: {
    summary: 'The plugin returned a value of the wrong shape',
    hint: 'Return the documented type (or a PluginResult of it); the issues say which field is wrong.',
    status: 502,
  },
  PLUGIN_FAILED_CLOSED: {
    summary: 'A fail-closed plugin failed, so the request was rejected',
    hint: 'The plugin is configured with failure_policy "closed"; fix it or switch it to "open".',
    status: 503,
  },
  PLUGIN_NOT_ACTIVE: {
    summary: 'The plugin is not in the ACTIVE state',
    hint: 'Check its state and last error in getPluginStatus() (GET /plugins).',
    status: 503,
  },
  ILLEGAL_STATE_TRANSITION: {
    summary: 'A plugin was asked to move between two states that are not connected',
    hint: 'This is a bug in the caller: consult the state diagram in docs/ARCHITECTURE.md.',
    status: 500,
  },
  HOOK_UNKNOWN: {
    summary: 'There is no hook with this name',
    hint: 'Use one of the 13 hook names of the hook map (HOOK_NAMES).',
    status: 500,
  },
  REQUEST_REJECTED: {
    summary: 'A middleware rejected the request',
    hint: 'The rejecting middleware says why (e.g. authentication or rate limit).',
    status: 400,
  },
  REQUEST_ABORTED: {
    summary: 'The request was cancelled before it finished',
    hint: 'The caller aborted (e.g. the client disconnected); nothing needs fixing.',
    status: 499,
  },
  REQUEST_INVALID: {
    summary: 'The chat request is not valid',
    hint: 'The issues name each invalid field.',
    status: 400,
  },
  BACKEND_NOT_FOUND: {
    summary: 'No backend provider with this name is active',
    hint: 'Enable the backend plugin, or pick one of the active backends.',
    status: 404,
  },
  BACKEND_FAILED: {
    summary: 'The backend provider failed to produce a reply',
    hint: 'See the cause; check that the backend service is reachable.',
    status: 502,
  },
  BACKEND_UNAVAILABLE: {
    summary: 'The backend service could not be reached, or did not answer in time',
    hint: 'The message names the address tried and how to start the service; or enable another backend.',
    status: 503,
  },
  TOO_MANY_TURNS: {
    summary: 'The model/tool loop exceeded the maximum number of turns',
    hint: 'Raise maxTurns, or check the extension that keeps asking for another turn.',
    status: 508,
  },
  MODEL_NOT_FOUND: {
    summary: 'No active backend serves the requested model',
    hint: 'Pick a model from GET /v1/models or GET /api/tags, or prefix it with its backend (`ollama/llama3.2`).',
    status: 404,
  },
  NO_BACKEND: {
    summary: 'No backend provider is active to answer the request',
    hint: 'Enable a backend plugin in the configuration (e.g. `backends.ollama`) and check GET /plugins for its state.',
    status: 503,
  },
  CONFIG_INVALID: {
    summary: 'The configuration is invalid or incomplete',
    hint: 'Each issue names the file, line, key and what was expected; `plugboard config check` lists them all.',
    status: 500,
  },
  INTERNAL_ERROR: {
    summary: 'Something unexpected failed inside Plugboard itself',
    hint: 'This is a bug in Plugboard: please report it with the log line and request id.',
    status: 500,
  },
  MANAGER_NOT_RUNNING: {
    summary: 'The plugin manager is not running',
    hint: 'Call initialize() first, and do not use the manager after shutdown().',
    status: 503,
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;

/** The shape every catalogue entry has. */
export interface ErrorCatalogueEntry {
  /** One sentence: what went wrong. */
  readonly summary: string;
  /** What the reader can do about it. */
  readonly hint: string;
  /** The HTTP status that fits when the error reaches a client. */
  readonly status: number;
}

/** A code from the error catalogue. */
export type ErrorCode = keyof typeof errorCatalogue;
