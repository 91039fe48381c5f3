import { type PlugboardError as CodedError, PlugboardError } from './plugboard-error.ts';

/*
 * One factory per error the core raises in more than one place (Rollup's `logCannotX()`
 * style), so that each message is written once and reads the same wherever it happens.
 * Messages name the plugin and what to do; the catalogue adds the hint.
 */

/** No plugin of that name is loaded. */
export function pluginNotFound(name: string, loaded: readonly string[]): PlugboardError {
  return new PlugboardError(
    'PLUGIN_NOT_FOUND',
    `No plugin named "${name}" is loaded; loaded: ${loaded.join(', ') || 'none'}`,
    { plugin: name },
  );
}

/** A plugin folder that could not be scanned (FR-2.4: reported with its path, not fatal). */
export function unreadableFolder(path: string, reason: string): PlugboardError {
  return new PlugboardError('PLUGIN_MODULE_LOAD_FAILED', `${path}: cannot read folder (${reason})`, {
    details: { file: path },
  });
}

/** Another plugin already has the name. */
export function duplicateName(name: string, source: string | undefined, existing: string | undefined): PlugboardError {
  return new PlugboardError(
    'PLUGIN_DUPLICATE_NAME',
    `${source ? `${source}: ` : ''}a plugin named "${name}" is already loaded${existing ? ` from ${existing}` : ''}`,
    { plugin: name, details: { file: source, existing } },
  );
}

/**
 * A plugin cannot start (or stay) because something it depends on is unavailable. `why`
 * finishes the sentence "…, which …": `is not loaded`, `is not active`, `cannot start: …`.
 */
export function dependencyUnavailable(
  plugin: string,
  dependency: string,
  why: string,
  range?: string,
  cause?: PlugboardError,
): PlugboardError {
  return new PlugboardError(
    'PLUGIN_DEPENDENCY_MISSING',
    `Plugin "${plugin}" depends on "${dependency}"${range === undefined || range === '*' ? '' : ` (${range})`}, which ${why}`,
    {
      plugin,
      details: {
        dependency,
        ...(range === undefined ? {} : { range }),
        ...(cause === undefined ? {} : { dependencyError: cause.code }),
      },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** A plugin cannot leave while others depend on it. */
export function dependentsRemain(plugin: string, dependents: readonly string[], action: string): PlugboardError {
  const names = dependents.map((name) => `"${name}"`).join(', ');
  return new PlugboardError(
    'PLUGIN_DEPENDENCY_MISSING',
    `Cannot ${action} "${plugin}": ${names} depend${dependents.length === 1 ? 's' : ''} on it; ${action} ${dependents.length === 1 ? 'it' : 'them'} first`,
    { plugin, details: { dependents } },
  );
}

/** A dependency is loaded in a version outside the declared range. */
export function dependencyVersion(plugin: string, dependency: string, range: string, found: string): PlugboardError {
  return new PlugboardError(
    'PLUGIN_DEPENDENCY_VERSION',
    `Plugin "${plugin}" needs "${dependency}" ${range}, but version ${found} is loaded`,
    { plugin, details: { dependency, range, found } },
  );
}

/** A plugin is part of a dependency cycle (`cycle` starts and ends with the same name). */
export function dependencyCycle(plugin: string, cycle: readonly string[]): PlugboardError {
  return new PlugboardError(
    'PLUGIN_DEPENDENCY_CYCLE',
    `Plugin "${plugin}" is part of a dependency cycle: ${cycle.join(' → ')}`,
    { plugin, details: { cycle } },
  );
}

/** `initialize` failed; the plugin stays in ERROR. */
export function initFailed(plugin: string, cause: PlugboardError): PlugboardError {
  return new PlugboardError('PLUGIN_INIT_FAILED', `Plugin "${plugin}" failed to initialize: ${cause.message}`, {
    plugin,
    hook: 'initialize',
    cause,
    publicMessage: `Plugin "${plugin}" failed to initialize`,
  });
}

/** `shutdown` failed; its resources may not have been released. */
export function shutdownFailed(plugin: string, cause: PlugboardError): PlugboardError {
  return new PlugboardError('PLUGIN_SHUTDOWN_FAILED', `Plugin "${plugin}" failed to shut down: ${cause.message}`, {
    plugin,
    hook: 'shutdown',
    cause,
    publicMessage: `Plugin "${plugin}" failed to shut down`,
  });
}

/** A call skipped because the operation's circuit is open. */
export function circuitOpen(plugin: string, operation: string, breaker?: unknown): PlugboardError {
  return new PlugboardError('PLUGIN_CIRCUIT_OPEN', `Circuit open for plugin "${plugin}": ${operation} skipped`, {
    plugin,
    hook: operation,
    ...(breaker === undefined ? {} : { details: { breaker } }),
  });
}

/** A call that outlived its timeout. */
export function pluginTimeout(plugin: string, operation: string, timeoutMs: number): PlugboardError {
  return new PlugboardError('PLUGIN_TIMEOUT', `Plugin "${plugin}" did not finish ${operation} within ${timeoutMs} ms`, {
    plugin,
    hook: operation,
    details: { timeoutMs },
  });
}

/**
 * A request refused because a fail-closed plugin is not running (it failed to start, or went
 * to ERROR). The reason stays in the log and in `GET /plugins`; the client learns which
 * plugin, not why (its error could name a file or a setting).
 */
export function closedPluginDown(plugin: string): PlugboardError {
  return failedClosed(
    plugin,
    new PlugboardError('PLUGIN_NOT_ACTIVE', `plugin "${plugin}" is not running (ERROR); see GET /plugins for why`, {
      plugin,
    }),
  );
}

/**
 * A fail-closed plugin failed, so the request is rejected. The log gets the cause; the client
 * gets the plugin, the operation and the cause's public message (never a plugin's exception text).
 */
export function failedClosed(plugin: string, cause: CodedError): PlugboardError {
  const where = cause.hook === undefined ? '' : ` in ${cause.hook}`;
  return new PlugboardError(
    'PLUGIN_FAILED_CLOSED',
    `Request rejected: plugin "${plugin}" failed${where} and is fail-closed (${cause.code}: ${cause.message})`,
    {
      plugin,
      ...(cause.hook === undefined ? {} : { hook: cause.hook }),
      cause,
      publicMessage: `Request rejected: plugin "${plugin}" failed${where} and is fail-closed (${cause.code}: ${cause.publicMessage})`,
    },
  );
}

/** A backend failed in a way that is not one of its own coded errors (a bug, a timeout, an open breaker). */
export function backendFailed(plugin: string, cause: CodedError, status?: number): PlugboardError {
  return new PlugboardError('BACKEND_FAILED', `Backend "${plugin}" failed: ${cause.message}`, {
    plugin,
    hook: 'chat',
    cause,
    ...(status === undefined ? {} : { status }),
    publicMessage: `Backend "${plugin}" failed: ${cause.publicMessage}`,
  });
}

/** No active backend of that name. */
export function backendNotFound(requested: string | undefined, available: readonly string[]): PlugboardError {
  return new PlugboardError(
    'BACKEND_NOT_FOUND',
    available.length === 0
      ? 'No backend provider is active: enable a backend plugin'
      : `No active backend named "${requested}"; active backends: ${available.join(', ')}`,
    { details: { requested, available } },
  );
}

/** The manager is not in a state to do this. */
export function managerNotRunning(operation: string, state: string): PlugboardError {
  return new PlugboardError('MANAGER_NOT_RUNNING', `Cannot ${operation}: the plugin manager is ${state}`);
}

/** A plugin returned a value of the wrong shape. */
export function invalidResult(message: string): PlugboardError {
  return new PlugboardError('PLUGIN_INVALID_RESULT', message);
}

/** The tool loop ran out of turns. */
export function tooManyTurns(maxTurns: number): PlugboardError {
  return new PlugboardError('TOO_MANY_TURNS', `Request needed more than ${maxTurns} model turns`, {
    details: { maxTurns },
  });
}

/** A consumed service that no candidate provides. `inactive` lists providers that exist but cannot serve. */
export function serviceNotProvided(
  consumer: string,
  service: string,
  inactive: readonly string[],
  boundTo?: string,
  description?: string,
): PlugboardError {
  const what = description === undefined ? '' : ` (${description})`;
  const tail =
    boundTo !== undefined
      ? `it is bound to "${boundTo}", which ${inactive.includes(boundTo) ? 'is not active' : 'does not provide it'}`
      : inactive.length > 0
        ? `its providers ${inactive.map((name) => `"${name}"`).join(', ')} are not active`
        : 'no loaded plugin provides it';
  return new PlugboardError(
    'SERVICE_NOT_PROVIDED',
    `Plugin "${consumer}" consumes service "${service}"${what}, but ${tail}`,
    {
      plugin: consumer,
      details: { service, ...(boundTo === undefined ? {} : { boundTo }) },
    },
  );
}

/** Several providers, none chosen. */
export function serviceAmbiguous(consumer: string, service: string, providers: readonly string[]): PlugboardError {
  return new PlugboardError(
    'SERVICE_AMBIGUOUS',
    `Plugin "${consumer}" consumes service "${service}", which ${providers.map((name) => `"${name}"`).join(' and ')} all provide; choose one in its entry: services: { ${service}: ${providers[0]} }`,
    { plugin: consumer, details: { service, providers } },
  );
}

/** A plugin asked for a service it did not declare. */
export function serviceNotDeclared(plugin: string, service: string): PlugboardError {
  return new PlugboardError(
    'SERVICE_NOT_DECLARED',
    `Plugin "${plugin}" asked for service "${service}" without declaring it: add its ref to metadata.consumes`,
    { plugin, details: { service } },
  );
}

/** A plugin declared services in `metadata.provides` that its `initialize` did not provide. */
export function provisionMissing(plugin: string, services: readonly string[]): PlugboardError {
  return new PlugboardError(
    'SERVICE_NOT_PROVIDED',
    `Plugin "${plugin}" declares it provides ${services.map((id) => `"${id}"`).join(', ')}, but its initialize did not call call.provide() for ${services.length === 1 ? 'it' : 'them'}`,
    { plugin, details: { services } },
  );
}
