import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AnyErrorCode, PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ApplyReport } from '../../core/manager/plugin-change.ts';
import type { PluginStatus } from '../../core/manager/reports.ts';
import { createChatContext } from '../../core/model/context.ts';
import { installErrorFormat } from '../error-format.ts';
import { plugboardErrorBody, toHttpError } from '../http-errors.ts';
import { clientInfo } from '../request-context.ts';
import type { ServerContext } from '../server-context.ts';
import { serverErrors } from '../server-errors.ts';
import type { AdminControl } from './admin-control.ts';
import { type AdminRefusal, refusalOf } from './admin-refusal.ts';
import { bearerCheck } from './bearer-auth.ts';
import { registerModelPullRoutes } from './model-pull-routes.ts';
import { registerPluginConfigRoutes } from './plugin-config-routes.ts';

export type { AdminRefusal } from './admin-refusal.ts';

/** `POST /admin/reload`. */
export interface AdminReloadResponse {
  readonly file: string | null;
  readonly snapshotVersion: number;
  readonly applied: readonly string[];
  readonly refused: readonly AdminRefusal[];
  readonly issues: readonly string[];
}

/** `POST /admin/plugins/:name/…`: what the action did and the plugin's status after it. */
export interface AdminPluginResponse {
  readonly plugin: string;
  readonly action: 'reload' | 'disable' | 'enable' | 'breaker-reset';
  /** False when the plugin already was as asked (disable of a paused plugin, reset of a closed breaker). */
  readonly changed: boolean;
  readonly status: PluginStatus;
  /** Plugin reload only: the snapshot version requests see from now on. */
  readonly snapshotVersion?: number;
}

const REALM = 'Bearer realm="plugboard-admin"';

interface PluginParams {
  readonly name: string;
}

/**
 * The admin API under `/admin` (see docs/api/admin.md): the effective configuration, config
 * and plugin reloads, disabling and enabling plugins, circuit breaker resets. A request is
 * admitted with `Authorization: Bearer <admin token>` (`server.admin_token`), or when the
 * request middleware — an authentication plugin such as `auth` — gives it a principal with the
 * `admin` role (operation `admin`); without either, it is refused. Every action is logged with
 * its outcome, who asked (the admin token, or the principal's id) and the request id (audit
 * trail, NFR-11).
 */
export function registerAdminRoutes(app: FastifyInstance, context: ServerContext, token: string | undefined): void {
  const check = token === undefined ? undefined : bearerCheck(token);
  const { manager } = context;

  app.register(
    async (admin) => {
      installErrorFormat(admin, plugboardErrorBody, context.routes);
      admin.addHook('onRequest', async (request, reply) => {
        const outcome = check?.(request.headers.authorization) ?? 'missing';
        if (outcome === 'ok') {
          actors.set(request, 'admin token');
          return;
        }
        // Not the admin token: the request middleware may know the caller (and refuses with its
        // own 401/403 when it does not like the credential).
        const principal = await adminPrincipal(context, request);
        if (principal !== undefined) {
          actors.set(request, `principal ${principal}`);
          return;
        }
        reply.header('www-authenticate', outcome === 'missing' ? REALM : `${REALM}, error="invalid_token"`);
        request.log.warn(
          {
            operation: 'admin_auth',
            method: request.method,
            path: request.url.split('?')[0],
            outcome: 'denied',
            reason: outcome === 'missing' ? 'no bearer token' : 'wrong token',
            success: false,
          },
          'admin request refused: no valid admin token',
        );
        throw serverErrors.UNAUTHORIZED(
          check === undefined
            ? 'The admin API needs an admin token (server.admin_token) or a credential with the admin scope (the auth plugin); this server has neither'
            : outcome === 'missing'
              ? 'The admin API needs an Authorization: Bearer <token> header'
              : 'The admin token is not valid',
        );
      });

      admin.get('/config', (request) =>
        audited(request, 'admin_config', undefined, async () => {
          const control = requireControl(context.admin, 'show the effective configuration');
          return { response: { file: control.file ?? null, config: control.effectiveConfig() }, outcome: 'read' };
        }),
      );

      admin.post('/reload', (request) =>
        audited(request, 'admin_reload', undefined, async () => {
          const control = requireControl(context.admin, 'reload the configuration');
          const report = await control.reload();
          context.manager.models.invalidate();
          const response: AdminReloadResponse = {
            file: control.file ?? null,
            snapshotVersion: report.snapshotVersion,
            applied: report.applied,
            refused: report.refused.map(refusalOf),
            issues: report.issues,
          };
          return {
            response,
            outcome: reloadOutcome(report),
            log: { applied: report.applied, refused: response.refused.map((refusal) => refusal.plugin) },
          };
        }),
      );

      admin.post<{ Params: PluginParams }>('/plugins/:name/reload', (request) => {
        const { name } = request.params;
        return audited(request, 'admin_plugin_reload', name, async () => {
          const control = requireControl(context.admin, 'reload a plugin');
          const report = await control.reloadPlugin(name);
          context.manager.models.invalidate();
          if (!report.applied.includes(name)) {
            const refusal = report.refused.find((candidate) => candidate.plugin === name) ?? report.refused[0];
            throw refusedReload(name, report, refusal);
          }
          const response: AdminPluginResponse = {
            plugin: name,
            action: 'reload',
            changed: true,
            snapshotVersion: report.snapshotVersion,
            status: statusOf(context, name),
          };
          return { response, log: { version: report.snapshotVersion } };
        });
      });

      admin.post<{ Params: PluginParams }>('/plugins/:name/disable', (request) => {
        const { name } = request.params;
        return audited(request, 'admin_plugin_disable', name, async () => {
          const before = statusOf(context, name);
          let changed = false;
          if (before.state === 'ACTIVE') {
            transition(() => manager.pausePlugin(name, `disabled through the admin API (request ${request.id})`));
            context.manager.models.invalidate();
            changed = true;
          } else if (before.state !== 'PAUSED' && !(before.state === 'LOADED' && !before.enabled)) {
            // LOADED and disabled: off by configuration, never started — already disabled.
            throw conflict(name, before, 'disable', 'only an ACTIVE plugin can be disabled');
          }
          const response = pluginResponse(context, name, 'disable', changed);
          return { response, log: { from: before.state, to: response.status.state } };
        });
      });

      admin.post<{ Params: PluginParams }>('/plugins/:name/enable', (request) => {
        const { name } = request.params;
        return audited(request, 'admin_plugin_enable', name, async () => {
          const before = statusOf(context, name);
          if (!before.enabled) {
            throw conflict(
              name,
              before,
              'enable',
              `it is disabled in the configuration${context.admin?.file ? ` (${context.admin.file})` : ''}; set \`enabled: true\` there and reload (POST /admin/reload)`,
            );
          }
          let changed = false;
          if (before.state === 'PAUSED') {
            transition(() => manager.resumePlugin(name, `enabled through the admin API (request ${request.id})`));
            context.manager.models.invalidate();
            changed = true;
          } else if (before.state !== 'ACTIVE') {
            throw conflict(
              name,
              before,
              'enable',
              before.state === 'ERROR'
                ? `it failed${before.lastError ? ` (${before.lastError.code}: ${before.lastError.message})` : ''}; fix the cause and reload it (POST /admin/plugins/${name}/reload)`
                : 'only a PAUSED plugin can be enabled',
            );
          }
          const response = pluginResponse(context, name, 'enable', changed);
          return { response, log: { from: before.state, to: response.status.state } };
        });
      });

      admin.post<{ Params: PluginParams }>('/plugins/:name/breaker/reset', (request) => {
        const { name } = request.params;
        return audited(request, 'admin_breaker_reset', name, async () => {
          const before = statusOf(context, name).breaker.state;
          manager.resetCircuitBreaker(name);
          const response = pluginResponse(context, name, 'breaker-reset', before === 'open' || before === 'half-open');
          return { response, log: { from: before, to: response.status.breaker.state } };
        });
      });

      registerModelPullRoutes(admin, context);
      registerPluginConfigRoutes(admin, context, audited);
    },
    { prefix: '/admin' },
  );
}

/** An action's answer, and extra fields for its audit line. */
interface Audited<T> {
  readonly response: T;
  /** Default: `unchanged` when the response says `changed: false`, else `applied`. */
  readonly outcome?: string;
  readonly log?: Readonly<Record<string, unknown>>;
}

/** Who each admitted admin request came from, for its audit line. */
const actors = new WeakMap<FastifyRequest, string>();

/**
 * The id of the principal the request middleware gives an `admin` request, when that principal
 * has the `admin` role; undefined when no middleware vouches for one. A middleware's refusal
 * (401, 403) is thrown as it is.
 */
async function adminPrincipal(context: ServerContext, request: FastifyRequest): Promise<string | undefined> {
  const admission = createChatContext({
    requestId: request.id,
    operation: 'admin',
    messages: [],
    client: clientInfo(request),
    metadata: { api: 'admin' },
  });
  const principal = await context.manager.runOperation(admission, async (admitted) => ({ value: admitted.principal }));
  return principal?.roles?.includes('admin') ? principal.id : undefined;
}

/**
 * Runs an admin action and writes its audit line: operation, plugin, outcome (`applied`,
 * `unchanged`, `refused` for a 4xx or 501, `failed` otherwise), and the request id (bound to
 * `request.log` as `request_id`).
 */
async function audited<T extends object>(
  request: FastifyRequest,
  operation: string,
  plugin: string | undefined,
  action: () => Promise<Audited<T>>,
): Promise<T> {
  const subject = { ...(plugin === undefined ? {} : { plugin }), actor: actors.get(request) };
  const what = `admin ${operation.replace('admin_', '').replaceAll('_', ' ')}${plugin === undefined ? '' : ` "${plugin}"`}`;
  try {
    const { response, log, ...given } = await action();
    const outcome = given.outcome ?? ((response as { changed?: unknown }).changed === false ? 'unchanged' : 'applied');
    request.log.info({ operation, ...subject, outcome, success: true, ...log }, `${what}: ${outcome}`);
    return response;
  } catch (thrown) {
    const error = toHttpError(thrown);
    const outcome = error.status < 500 || error.status === 501 ? 'refused' : 'failed';
    request.log.warn(
      { operation, ...subject, outcome, success: false, error: error.code },
      `${what}: ${outcome}: ${error.message}`,
    );
    throw thrown;
  }
}

function requireControl(control: AdminControl | undefined, operation: string): AdminControl {
  if (control !== undefined) return control;
  throw serverErrors.NOT_IMPLEMENTED(
    `Cannot ${operation}: this server does not run from a configuration file (start it with \`plugboard serve\`)`,
  );
}

/** A loaded plugin's status. @throws PlugboardError `PLUGIN_NOT_FOUND`. */
function statusOf(context: ServerContext, name: string): PluginStatus {
  const plugins = context.manager.getPluginStatus().plugins;
  const status = Object.hasOwn(plugins, name) ? plugins[name] : undefined;
  if (status === undefined) {
    throw new PlugboardError(
      'PLUGIN_NOT_FOUND',
      `No plugin named "${name}" is loaded; loaded: ${Object.keys(plugins).join(', ') || 'none'}`,
      { plugin: name },
    );
  }
  return status;
}

function pluginResponse(
  context: ServerContext,
  name: string,
  action: AdminPluginResponse['action'],
  changed: boolean,
): AdminPluginResponse {
  return { plugin: name, action, changed, status: statusOf(context, name) };
}

/** Runs a state change; one the state machine refuses (a race with a reload) is a 409. */
function transition(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (error instanceof PlugboardError && error.code === 'ILLEGAL_STATE_TRANSITION') {
      throw new PlugboardError('ILLEGAL_STATE_TRANSITION', error.message, {
        plugin: error.plugin,
        status: 409,
        ...(error.details === undefined ? {} : { details: error.details }),
      });
    }
    throw error;
  }
}

function conflict(name: string, status: PluginStatus, action: string, why: string): PlugboardError {
  return new PlugboardError(
    'ILLEGAL_STATE_TRANSITION',
    `Cannot ${action} plugin "${name}" in state ${status.state}: ${why}`,
    { plugin: name, status: 409, details: { state: status.state, enabled: status.enabled } },
  );
}

/** `applied`, `partial` (some refused), `refused` (all refused) or `unchanged` (nothing to do). */
function reloadOutcome(report: ApplyReport): string {
  if (report.refused.length === 0) return report.applied.length === 0 ? 'unchanged' : 'applied';
  return report.applied.length === 0 ? 'refused' : 'partial';
}

/** A refused plugin reload as an error with the refusal's own code and status. */
function refusedReload(
  name: string,
  report: ApplyReport,
  refusal: ApplyReport['refused'][number] | undefined,
): PlugboardError {
  const cause = refusal?.error;
  return new PlugboardError(
    (cause?.code ?? 'INTERNAL_ERROR') as AnyErrorCode,
    `The reload of plugin "${name}" was refused; the running version (if any) stays: ${cause?.message ?? 'no reason given'}`,
    {
      plugin: name,
      ...(cause === undefined ? {} : { status: cause.status, cause }),
      details: { ...cause?.details, snapshotVersion: report.snapshotVersion },
    },
  );
}
