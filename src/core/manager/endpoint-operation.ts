import { PlugboardError } from '../errors/plugboard-error.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin } from '../execution/invoke.ts';
import { RequestScope } from '../execution/request-scope.ts';
import type { ChatContext } from '../model/context.ts';
import type { ChatOptions } from '../pipeline/chat-pipeline.ts';
import { runOperation } from '../pipeline/operation-pipeline.ts';
import type { PipelineEnv } from '../pipeline/request-run.ts';
import type { EndpointMatch } from '../plugin/endpoint-table.ts';
import type { EndpointReply, EndpointRequest } from '../plugin/endpoints.ts';
import { assertJson } from '../stores/json.ts';
import { deepFreeze } from '../util/deep-freeze.ts';

/** What the transport parsed of a request to a plugin's endpoint. */
export type EndpointInput = Omit<EndpointRequest, 'route' | 'params' | 'principal' | 'context' | 'method'>;

/**
 * A request to a plugin's endpoint, as the operation `endpoint`: request middleware first
 * (authentication, rate limits, logging see `context.metadata.endpoint`), the hooks, then
 * the endpoint's handler — guarded like every plugin call (timeout, breaker, metrics), and
 * only while its plugin is ACTIVE.
 */
export function endpointOperation(
  env: PipelineEnv,
  deadlines: DeadlineScheduler,
  match: EndpointMatch,
  context: ChatContext,
  input: EndpointInput,
  options: ChatOptions,
): Promise<EndpointReply> {
  const { record, endpoint, params } = match;
  const described = deepFreeze({
    ...context,
    operation: 'endpoint' as const,
    metadata: {
      ...context.metadata,
      endpoint: { plugin: record.name, method: endpoint.method, route: endpoint.path, scope: endpoint.scope ?? 'chat' },
    },
  });
  return runOperation(
    env,
    described,
    async (admitted, call) => {
      if (record.state !== 'ACTIVE') {
        throw new PlugboardError('PLUGIN_NOT_FOUND', `The plugin serving ${endpoint.path} is no longer active`, {
          plugin: record.name,
          status: 503,
        });
      }
      const request: EndpointRequest = Object.freeze({
        ...input,
        method: endpoint.method,
        route: endpoint.path,
        params,
        principal: admitted.principal,
        context: admitted,
      });
      const scope = new RequestScope(
        admitted.requestId,
        undefined,
        call.options.cancellation,
        call.options.responseHeaders,
      );
      try {
        const result = await invokePlugin(
          deadlines,
          record,
          'endpoint',
          (pluginCall) => endpoint.handle(request, pluginCall),
          validateEndpointReply,
          { scope },
        );
        if (!result.ok) throw result.error;
        return { value: result.value };
      } finally {
        scope.dispose();
      }
    },
    options,
  );
}

const STATUS_MIN = 200;
const STATUS_MAX = 599;

function validateEndpointReply(value: unknown): EndpointReply {
  if (typeof value !== 'object' || value === null) {
    throw new PlugboardError(
      'PLUGIN_INVALID_RESULT',
      'An endpoint must return { body }, { text, contentType } or { status: 204 } (or 202)',
    );
  }
  const reply = value as Record<string, unknown>;
  const status = reply.status;
  if (
    status !== undefined &&
    !(Number.isInteger(status) && (status as number) >= STATUS_MIN && (status as number) <= STATUS_MAX)
  ) {
    throw new PlugboardError(
      'PLUGIN_INVALID_RESULT',
      `An endpoint's status must be a whole number from 200 to 599, got ${String(status)}`,
    );
  }
  if ('text' in reply) {
    if (
      typeof reply.text !== 'string' ||
      typeof reply.contentType !== 'string' ||
      !/^[\w.+-]+\/[\w.+-]+$/.test(reply.contentType)
    ) {
      throw new PlugboardError(
        'PLUGIN_INVALID_RESULT',
        'An endpoint answering text must give text and a contentType such as "text/markdown"',
      );
    }
  } else if ('body' in reply) {
    assertJson(reply.body, 'endpoint body');
  } else if (status !== 204 && status !== 202) {
    throw new PlugboardError(
      'PLUGIN_INVALID_RESULT',
      'An endpoint must return { body }, { text, contentType } or { status: 204 } (or 202)',
    );
  }
  if (reply.headers !== undefined) {
    const headers = reply.headers as Record<string, unknown>;
    if (
      typeof headers !== 'object' ||
      headers === null ||
      Object.values(headers).some((item) => typeof item !== 'string')
    ) {
      throw new PlugboardError('PLUGIN_INVALID_RESULT', "An endpoint's headers must map names to strings");
    }
  }
  return reply as unknown as EndpointReply;
}
