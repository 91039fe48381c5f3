import { backendNotFound } from '../errors/core-errors.ts';
import type { ChatContext } from '../model/context.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { type ModelRouter, splitBackendPrefix } from '../routing/model-router.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import type { PipelineSnapshot } from './snapshot.ts';

/** Where a request goes: the backend, and the context as that backend should see it. */
export interface Route {
  readonly backend: PluginRecord;
  readonly context: ChatContext;
}

/**
 * Picks the backend of a request, after middleware and extensions had their say:
 * - `context.backend` when set (a `backend/` prefix on the model is then dropped);
 * - no model: the default backend, which answers with its own default model;
 * - a model: through the router — `backend/model` picks the backend, a bare name is looked up
 *   in the backends' model lists (`MODEL_NOT_FOUND`, listing what exists, when none has it).
 * The backend sees the model as it lists it (no prefix), and `context.backend` names the
 * backend whenever the request named a model.
 */
export function routeRequest(
  router: ModelRouter,
  snapshot: PipelineSnapshot,
  context: ChatContext,
): Route | Promise<Route> {
  if (context.backend !== undefined) {
    const prefixed = context.model === undefined ? undefined : splitBackendPrefix(context.model, [context.backend]);
    return to(snapshot, { backend: context.backend, model: prefixed?.model ?? context.model }, context);
  }
  if (context.model === undefined) return to(snapshot, { backend: snapshot.defaultBackend, model: undefined }, context);
  const target = router.resolve(context.model);
  return target instanceof Promise
    ? target.then((resolved) => to(snapshot, resolved, context))
    : to(snapshot, target, context);
}

function to(
  snapshot: PipelineSnapshot,
  target: { readonly backend: string | undefined; readonly model: string | undefined },
  context: ChatContext,
): Route {
  const backend = target.backend === undefined ? undefined : snapshot.backends.get(target.backend);
  if (backend === undefined) throw backendNotFound(target.backend, [...snapshot.backends.keys()]);
  // Already as the backend should see it, or a model-less request to the default backend: no copy.
  if (context.model === target.model && (context.backend === backend.name || context.model === undefined)) {
    return { backend, context };
  }
  const routed: { -readonly [K in keyof ChatContext]?: ChatContext[K] } = { ...context, backend: backend.name };
  if (target.model === undefined) delete routed.model;
  else routed.model = target.model;
  return { backend, context: deepFreeze(routed as ChatContext) };
}
