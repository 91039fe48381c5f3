/**
 * The auth middleware: API keys (config, environment, a reloadable keys file) and JWTs, scopes
 * per operation, model allow-lists, and the caller's principal in the context for the plugins
 * after it. Fail-closed: if it fails, requests are refused, not let through. See README.md.
 */
import { defineMiddleware, type Middleware } from '../../src/index.ts';
import { Authenticator } from './authenticator.ts';
import { type AuthConfig, authConfigSchema } from './config.ts';
import { authErrors } from './errors.ts';

/**
 * A fresh auth plugin (each instance — a config reload makes a new one next to the running
 * one — reads its keys itself).
 *
 * @example
 * ```ts
 * const manager = await startManager([backend, [createAuthPlugin, { config: { keys_file: 'keys.yaml' } }]]);
 * ```
 */
export function createAuthPlugin(): Middleware<AuthConfig> {
  let auth: Authenticator | undefined;
  return defineMiddleware<AuthConfig>({
    metadata: {
      name: 'auth',
      version: '1.0.0',
      description: 'Authenticates requests with API keys or JWTs and checks their scopes',
      configSchema: authConfigSchema,
      errors: authErrors,
      // Without it nothing is checked: a failure must refuse the request, not wave it through.
      failurePolicy: 'closed',
      // Before any other middleware, so rate limits and logs already know the principal.
      priority: 'CRITICAL',
    },
    async initialize(config) {
      auth = await Authenticator.create(config.config);
    },
    processRequest(context, call) {
      if (auth === undefined) throw authErrors.KEYS_INVALID('auth: called before it was initialized');
      return auth.admit(context, call.logger);
    },
    healthCheck() {
      return auth?.health() ?? { status: 'unhealthy', message: 'not initialized' };
    },
  });
}

export default createAuthPlugin;
