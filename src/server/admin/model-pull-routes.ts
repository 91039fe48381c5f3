import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type ModelPullState, ModelPulls } from '../../model-files/model-pulls.ts';
import { toHttpError } from '../http-errors.ts';
import type { ServerContext } from '../server-context.ts';
import { parseBody } from '../validate-body.ts';

/** `POST /admin/models/pull`. */
const pullBodySchema = z.strictObject({
  /** `hf:owner/repo/file.gguf` or an http(s) URL of a .gguf file; default: the server's default model. */
  source: z.string().trim().min(1).max(2048).optional(),
});

/** `GET /admin/models/pulls`. */
export interface ModelPullsResponse {
  /** The models folder (absolute): `server.models_dir`. */
  readonly modelsDir: string;
  /** What `POST /admin/models/pull` downloads without a `source`. */
  readonly defaultSource: string;
  /** Running pulls and the last finished ones, oldest first. */
  readonly pulls: readonly ModelPullState[];
}

interface PullParams {
  readonly id: string;
}

/**
 * The model download routes of the admin API, registered inside its authenticated scope (see
 * admin-routes.ts): `POST /admin/models/pull` starts a download into `server.models_dir` and
 * answers 202 with its state; `GET /admin/models/pulls` and `GET /admin/models/pulls/:id` show
 * them; `DELETE /admin/models/pulls/:id` cancels one (its part file stays, for the next pull to
 * resume). Pulls run in the server, not in the request: the server's close aborts them.
 *
 * @example
 * ```ts
 * app.register(async (admin) => { … registerModelPullRoutes(admin, context); }, { prefix: '/admin' });
 * ```
 */
export function registerModelPullRoutes(admin: FastifyInstance, context: ServerContext): void {
  const { settings } = context;
  const pulls = new ModelPulls({
    dir: settings.modelsDir,
    ...(settings.defaultModelSource === undefined ? {} : { defaultSource: settings.defaultModelSource }),
    ...(settings.huggingFaceEndpoint === undefined ? {} : { endpoint: settings.huggingFaceEndpoint }),
    // The endpoint comes from the settings only: not from this process's HF_ENDPOINT behind their back.
    env: {},
    logger: context.logger,
    // llamacpp reads its folder when models are listed, but the router caches lists for a while.
    onModelAdded: () => context.manager.models.invalidate(),
  });
  admin.addHook('onClose', () => pulls.close());

  admin.post('/models/pull', async (request, reply) => {
    const state = await logged(request, 'admin_model_pull', async () => {
      // No body at all (a bare POST) asks for the default model.
      const body = parseBody(pullBodySchema, request.body ?? {});
      return pulls.start(body.source);
    });
    reply.code(202);
    return state;
  });

  admin.get(
    '/models/pulls',
    async (): Promise<ModelPullsResponse> => ({
      modelsDir: pulls.dir,
      defaultSource: pulls.defaultSource,
      pulls: pulls.list(),
    }),
  );

  admin.get<{ Params: PullParams }>('/models/pulls/:id', async (request) => pulls.get(request.params.id));

  admin.delete<{ Params: PullParams }>('/models/pulls/:id', (request) =>
    logged(request, 'admin_model_pull_cancel', () => pulls.cancel(request.params.id)),
  );
}

/** Runs a changing action and writes its audit line (operation, pull, file, outcome). */
async function logged(
  request: FastifyRequest,
  operation: string,
  action: () => Promise<ModelPullState> | ModelPullState,
): Promise<ModelPullState> {
  try {
    const state = await action();
    request.log.info(
      { operation, pull: state.id, source: state.source, file: state.file, outcome: state.state, success: true },
      `${operation.replace('admin_', '').replaceAll('_', ' ')}: ${state.file} (${state.state})`,
    );
    return state;
  } catch (thrown) {
    const error = toHttpError(thrown);
    request.log.warn(
      { operation, outcome: 'refused', success: false, error: error.code },
      `${operation.replace('admin_', '').replaceAll('_', ' ')}: refused: ${error.message}`,
    );
    throw thrown;
  }
}
