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
export { createPatternRewriter, type PatternRewriter, type RewriteRule } from './authoring/pattern-rewriter.ts';
// Errors and results
export { type ErrorCatalogueEntry, type ErrorCode, errorCatalogue } from './core/errors/catalogue.ts';
export { isPlugboardError, PlugboardError } from './core/errors/plugboard-error.ts';
export type { CallStats, LatencySummary } from './core/execution/call-metrics.ts';
export type { CallObserver, ObservedCall, ObservedOutcome } from './core/execution/call-observer.ts';
export type { BreakerState, BreakerStatus, CircuitBreakerOptions } from './core/execution/circuit-breaker.ts';
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
  type LoadProblem,
  PluginManager,
  type PluginManagerOptions,
} from './core/manager/plugin-manager.ts';
export type { MetricsReport, PluginStatus, StatusReport } from './core/manager/reports.ts';
// Messages and contexts
export {
  appendMessages,
  type ChatContext,
  type ChatContextInput,
  type ClientInfo,
  createChatContext,
  type GenerationOptions,
  lastUserMessage,
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
export type { ChatOptions } from './core/pipeline/chat-pipeline.ts';
export type { ChatStream } from './core/pipeline/chat-stream.ts';
export { discoverPluginFiles, PLUGIN_FILE_PATTERN } from './core/plugin/discovery.ts';
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
export type { PluginCall } from './core/plugin/plugin-call.ts';
export { PRIORITIES, type Priority } from './core/plugin/priority.ts';
export { PLUGIN_STATES, type PluginState, type StateTransition } from './core/plugin/state.ts';
export { checkPluginStructure, type PluginShape } from './core/plugin/structure-check.ts';
export { fail, isPluginResult, ok, type PluginFailure, type PluginResult, type PluginSuccess } from './core/result.ts';
