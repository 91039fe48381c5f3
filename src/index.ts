/**
 * Plugboard's public API: what plugin authors and embedders import.
 *
 * @example
 * ```ts
 * import { defineMessageProcessor, withContent } from 'plugboard';
 * ```
 */

// Authoring plugins
export { backendUnavailable, isConnectionError } from './authoring/backend-errors.ts';
export { reject, respond } from './authoring/decisions.ts';
export {
  defineBackend,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
} from './authoring/define.ts';
export { defineTool, type ToolDefinitionInput, toolParameters } from './authoring/define-tool.ts';
export { createPatternRewriter, type PatternRewriter, type RewriteRule } from './authoring/pattern-rewriter.ts';
export { releaseStreamResponse } from './authoring/stream-response.ts';
// Shared connections (Redis, PostgreSQL, SQLite), named in the configuration
export type { ConnectionKind, ConnectionName, Connections, SqliteDatabase } from './connections/connections.ts';
export { CONNECTIONS_PLUGIN, connectionsRef } from './connections/connections-plugin.ts';
// Errors and results
export { type ErrorCatalogueEntry, type ErrorCode, errorCatalogue } from './core/errors/catalogue.ts';
export { defineErrors, type ErrorFactory, type ErrorSet } from './core/errors/define-errors.ts';
export { listErrorCodes, type RegisteredError } from './core/errors/error-registry.ts';
export {
  type AnyErrorCode,
  type ErrorOrigin,
  isPlugboardError,
  isRefusal,
  PlugboardError,
  type PluginErrorCode,
} from './core/errors/plugboard-error.ts';
export type { CallStats, LatencySummary } from './core/execution/call-metrics.ts';
export type { CallObserver, ObservedCall, ObservedOutcome } from './core/execution/call-observer.ts';
export type { BreakerState, BreakerStatus, CircuitBreakerOptions } from './core/execution/circuit-breaker.ts';
export type { PluginBreakerStatus } from './core/execution/plugin-breakers.ts';
export type { ResponseHeaderSink } from './core/execution/request-scope.ts';
export type { HandlerOutcome, HookDispatch, HookRegistration } from './core/hooks/hook-manager.ts';
// Hooks
export {
  type ConfigReloadReport,
  HOOK_KINDS,
  HOOK_NAMES,
  type HookKind,
  type HookMap,
  type HookMethodName,
  type HookName,
  type HookPayload,
  type HookReturn,
  hookMethodName,
  type RequestOutcome,
} from './core/hooks/hook-map.ts';
export {
  createDefaultLogger,
  createSilentLogger,
  type LogDestination,
  type Logger,
  redactLogFields,
} from './core/logger.ts';
export type { SystemHealth } from './core/manager/health.ts';
// The manager
export {
  type BackendHandle,
  type EmbeddingReply,
  type LoadProblem,
  PluginManager,
  type PluginManagerOptions,
} from './core/manager/plugin-manager.ts';
export type { MetricsReport, PluginStatus, StatusReport } from './core/manager/reports.ts';
export type { StrayErrorKind, StrayErrorReport } from './core/manager/stray-errors.ts';
export {
  type HistogramDefinition,
  type MetricCounter,
  type MetricDefinition,
  type MetricGauge,
  type MetricHistogram,
  type MetricLabels,
  type MetricsService,
  metricsRef,
} from './core/metrics/metrics-service.ts';
// Messages and contexts
export {
  appendMessages,
  type ChatContext,
  type ChatContextInput,
  type ClientInfo,
  createChatContext,
  type GenerationOptions,
  lastUserMessage,
  OPERATIONS,
  type Operation,
  type Principal,
  type ResponseFormat,
  type ToolChoice,
  type ToolDefinition,
  updateContext,
} from './core/model/context.ts';
export {
  createMessage,
  type Message,
  type MessageInput,
  type Role,
  type ToolCall,
  updateMessage,
  withContent,
} from './core/model/message.ts';
export type {
  BackendReply,
  ChatChunk,
  ChatCompletion,
  ChatResponse,
  FinishReason,
  ModelInfo,
  PluginStep,
  StepOutcome,
  Usage,
} from './core/model/reply.ts';
// The models, for plugins that need one themselves (summaries, titles, embeddings)
export {
  type Completion,
  type CompletionRequest,
  type Embeddings,
  type EmbedRequest,
  type ModelAccess,
  modelAccessRef,
} from './core/models/model-access.ts';
export type { ChatOptions } from './core/pipeline/chat-pipeline.ts';
export type { ChatStream } from './core/pipeline/chat-stream.ts';
export type { OperationCall, OperationOutcome } from './core/pipeline/operation-pipeline.ts';
export { discoverPluginFiles, PLUGIN_FILE_PATTERN } from './core/plugin/discovery.ts';
export {
  ENDPOINT_METHODS,
  type EndpointMethod,
  type EndpointReply,
  type EndpointRequest,
  type PluginEndpoint,
} from './core/plugin/endpoints.ts';
// Plugin kinds
export type {
  AnyPlugin,
  Awaitable,
  BackendProvider,
  EmbeddingRequest,
  EmbeddingResult,
  FeatureExtension,
  HealthReport,
  HookHandler,
  MessageProcessor,
  Middleware,
  MiddlewareDecision,
  ModelTurn,
  Pluggable,
  PluginReturn,
  ProcessorDirection,
  RejectDecision,
  RespondDecision,
  StreamingSupport,
} from './core/plugin/kinds.ts';
export {
  type FailurePolicy,
  PLUGIN_KINDS,
  type PluginConfig,
  type PluginKind,
  type PluginMetadata,
  type PluginSettings,
} from './core/plugin/metadata.ts';
export type { InitializeCall, PluginCall } from './core/plugin/plugin-call.ts';
export { PRIORITIES, type Priority } from './core/plugin/priority.ts';
export { PLUGIN_STATES, type PluginState, type StateTransition } from './core/plugin/state.ts';
export { checkPluginStructure, type PluginShape } from './core/plugin/structure-check.ts';
export { fail, isPluginResult, ok, type PluginFailure, type PluginResult, type PluginSuccess } from './core/result.ts';
export type { ListedModel, ModelCatalogue, ModelRouter, ModelTarget } from './core/routing/model-router.ts';
// Services plugins provide and consume
export {
  createServiceRef,
  type OptionalServiceDependency,
  optionalService,
  type ServiceAccess,
  type ServiceDependency,
  type ServiceRef,
  type ServiceRefOptions,
} from './core/services/service-ref.ts';
// Stores: the ports plugins share, with their in-memory defaults
// The checks every ConversationStore and SearchIndex implementation makes, shared so that all refuse the same calls alike.
export {
  type ConversationCursor,
  decodeConversationCursor,
  encodeConversationCursor,
} from './core/stores/conversation-cursor.ts';
export {
  assertConversationRef,
  assertPrincipal,
  assertSummaryInRange,
  assertTitle,
  type Conversation,
  type ConversationListOptions,
  type ConversationPage,
  type ConversationStore,
  type ConversationSummary,
  conversationNotFound,
  conversationStoreRef,
  DEFAULT_LIST_LIMIT,
  invalidCursor,
  MAX_LIST_LIMIT,
  MAX_TITLE_LENGTH,
  type MessageRange,
  type NewConversation,
  type StoredMessage,
  validateListOptions,
  validateMessageRange,
  validateMessages,
  validateNewConversation,
  validateSummary,
} from './core/stores/conversation-store.ts';
export { assertJson, type JsonArray, type JsonObject, type JsonScalar, type JsonValue } from './core/stores/json.ts';
// The checks every KeyValueStore implementation makes, shared so that all refuse the same calls alike.
export {
  assertCounterDelta,
  assertKeyPrefix,
  assertStoreKey,
  type KeyValueSetOptions,
  type KeyValueStore,
  keyValueStoreRef,
  MAX_KEY_LENGTH,
  nextCounterValue,
  ttlFromOptions,
} from './core/stores/key-value-store.ts';
export { MemoryConversationStore } from './core/stores/memory/memory-conversation-store.ts';
export { MemoryKeyValueStore, type MemoryKeyValueStoreOptions } from './core/stores/memory/memory-key-value-store.ts';
export { MemorySearchIndex } from './core/stores/memory/memory-search-index.ts';
export {
  assertCollectionName,
  assertQueryDimension,
  type CheckedDocument,
  DEFAULT_TOP_K,
  type IndexedDocument,
  MAX_TOP_K,
  MAX_VECTOR_DIMENSION,
  type MetadataFilter,
  matchesFilter,
  type SearchHit,
  type SearchIndex,
  type SearchQuery,
  searchIndexRef,
  validateDocumentIds,
  validateDocuments,
  validateFilter,
  validateSearchQuery,
} from './core/stores/search-index.ts';
// Tools the model may call (the tool loop runs them)
export {
  MemoryToolRegistry,
  type RegisteredTool,
  type ToolInvocation,
  type ToolOutput,
  type ToolRegistry,
  type ToolSpec,
  toolRegistryRef,
} from './core/tools/tool-registry.ts';
// Secrets in what a plugin logs or reports (the rules the logger and `config print` use)
export { redactSecrets, redactText, redactUrl, splitUrlCredentials } from './core/util/redact.ts';
