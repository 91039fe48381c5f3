/**
 * The tools plugin: the tool loop and an MCP client. Tools registered in the tool registry — by
 * plugins (db_query, web_search, your own with defineTool) and by the MCP servers of
 * `mcp_servers` — are offered to the model next to the client's own tools; when the model calls
 * them, they run here (in parallel, each under a timeout and a circuit breaker) and the model is
 * called again with their results, up to `max_turns` rounds. Calls of the client's tools go back
 * to the client as before. See README.md.
 */
import {
  defineFeatureExtension,
  type FeatureExtension,
  type ModelAccess,
  metricsRef,
  modelAccessRef,
  type ToolRegistry,
  toolRegistryRef,
  updateContext,
} from '../../src/index.ts';
import { type ToolsConfig, toolsConfigSchema } from './config.ts';
import { toolsErrors } from './errors.ts';
import { type McpExposure, mcpEndpoint } from './mcp/mcp-endpoint.ts';
import { McpHub } from './mcp/mcp-hub.ts';
import { runToolRound, type ToolLoopDeps } from './tool-loop.ts';
import { defineToolMetrics } from './tool-metrics.ts';
import { ToolRunner } from './tool-runner.ts';
import { OFFERED_KEY, offerTools, ToolFilter } from './tool-selection.ts';

/**
 * A fresh tools plugin. Each instance (a reload makes a new one next to the running one) has
 * its own MCP connections and breakers; MCP tools are registered under the owner
 * `mcp:<server>`, so the new instance's registration replaces the old one's.
 *
 * @example
 * ```ts
 * // plugins/config.yaml: features: { tools: { config: { mcp_servers: { files: { command: npx, args: [...] } } } } }
 * const manager = await startManager([backend, [createToolsPlugin, { config: { max_turns: 3 } }]]);
 * ```
 */
export function createToolsPlugin(): FeatureExtension<ToolsConfig> {
  let registry: ToolRegistry | undefined;
  let filter: ToolFilter | undefined;
  let loop: ToolLoopDeps | undefined;
  let hub: McpHub | undefined;
  let exposure: McpExposure | undefined;
  let models: ModelAccess | undefined;
  return defineFeatureExtension<ToolsConfig>({
    metadata: {
      name: 'tools',
      version: '1.0.0',
      description: 'Runs the tools the model calls (plugins’ tools and MCP servers’), then asks the model again',
      configSchema: toolsConfigSchema,
      consumes: [toolRegistryRef, metricsRef, modelAccessRef],
      errors: toolsErrors,
      // One call of continueConversation runs a whole round of tools: it needs longer than
      // the default 30 s (each tool has its own timeout_ms within it).
      timeoutMs: 300_000,
    },
    async initialize(config, call) {
      const settings = config.config;
      registry = call.services.get(toolRegistryRef);
      models = call.services.get(modelAccessRef);
      const metrics = defineToolMetrics(call.services.get(metricsRef));
      filter = new ToolFilter(settings.allow, settings.deny);
      loop = {
        registry,
        runner: new ToolRunner({
          defaultTimeoutMs: settings.timeout_ms,
          failureThreshold: settings.breaker.failure_threshold,
          resetAfterMs: settings.breaker.reset_after_ms,
          maxOutputChars: settings.max_output_chars,
          metrics,
        }),
        maxTurns: settings.max_turns,
        maxParallel: settings.max_parallel,
        responseOutputChars: settings.response_output_chars,
        metrics,
      };
      hub = new McpHub({
        servers: settings.mcp_servers,
        registry,
        // The connections outlive this call; its logger (the plugin's, with no request) does not end with it.
        logger: call.logger,
        reconnect: { initialDelayMs: settings.reconnect.initial_delay_ms, maxDelayMs: settings.reconnect.max_delay_ms },
        metrics,
      });
      await hub.start();
      exposure = settings.expose_mcp.enabled
        ? {
            registry,
            runner: loop.runner,
            filter,
            includeMcpTools: settings.expose_mcp.include_mcp_tools,
            version: '1.0.0',
          }
        : undefined;
    },
    endpoints: [mcpEndpoint(() => exposure)],
    async extend(context, call) {
      if (registry === undefined || filter === undefined) return context;
      const offer = offerTools(context, registry.list(), filter);
      if (offer === undefined || offer.offered.length === 0) return context;
      if (offer.shadowed.length > 0) {
        call.logger.debug({ tools: offer.shadowed }, 'client tools of the same name win over these server tools');
      }
      // A model its backend says cannot call tools (llama.cpp here, an Ollama model without
      // `tools`) would refuse the whole request if offered them: answer without tools instead.
      // Asked only when there is something to offer.
      if (!(await takesTools(models, context.model))) {
        call.logger.debug({ model: context.model }, 'the model cannot call tools: none offered');
        return context;
      }
      return updateContext(context, {
        options: { ...context.options, tools: [...offer.tools] },
        metadata: { ...context.metadata, [OFFERED_KEY]: [...offer.offered] },
      });
    },
    continueConversation(turn, context, call) {
      return loop === undefined ? undefined : runToolRound(turn, context, call, loop);
    },
    healthCheck() {
      if (hub === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const report = hub.health();
      return { ...report, details: { ...report.details, tools: registry?.list().length ?? 0 } };
    },
    async shutdown() {
      await hub?.close();
    },
  });
}

/**
 * False when the model's backend lists its capabilities and `tools` is not among them; true
 * when it says nothing (OpenAI-compatible services, Ollama's model list) or cannot be asked.
 */
async function takesTools(models: ModelAccess | undefined, model: string | undefined): Promise<boolean> {
  if (models === undefined) return true;
  try {
    const capabilities = (await models.describe(model))?.details?.capabilities;
    return !Array.isArray(capabilities) || capabilities.includes('tools');
  } catch {
    return true;
  }
}

export default createToolsPlugin;
