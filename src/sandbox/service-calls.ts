import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import { createServiceRef, type ServiceAccess, type ServiceRef } from '../core/services/service-ref.ts';
import type { PluginLog } from './plugin-log.ts';
import type { ChildMessage, ParentMessage, PluginShape } from './protocol.ts';
import { encodeValue, toWireError } from './wire-values.ts';

/** Service calls a sandboxed plugin may have open at once (each runs in the server). */
const MAX_SERVICE_CALLS = 64;
/**
 * Services a sandboxed plugin may not use: they hand out live clients of the server's
 * connections, whose fields hold credentials.
 */
const REFUSED_SERVICES = new Set(['plugboard.connections']);
/** Nesting beyond which a service's answer is not taken for data. */
const MAX_DEPTH = 64;

/**
 * The service calls of a sandboxed plugin's process, served in the server: the plugin's
 * `call.services.get(ref).method(…)` is a message; this calls the service the runtime bound to
 * the plugin and sends the answer back. Only what the plugin declared, only the ref's own
 * methods (the server's ref, not the plugin's word), at most 64 at once, answers that are plain
 * data (a service returning a live client is refused), and a service's own exception stays in
 * the server's log.
 */
export class ServiceCalls {
  #inFlight = 0;

  constructor(
    private readonly consumes: NonNullable<PluginShape['metadata']['consumes']>,
    private readonly services: (callId: number) => ServiceAccess | undefined,
    private readonly log: PluginLog,
    private readonly logger: () => Logger,
  ) {}

  /** Serves one call; the answer goes to `reply` (the pipe of the process that asked). */
  async serve(
    message: Extract<ChildMessage, { t: 'service-call' }>,
    reply: (message: ParentMessage) => void,
  ): Promise<void> {
    if (this.#inFlight >= MAX_SERVICE_CALLS) {
      const busy = new PlugboardError('SERVICE_UNAVAILABLE', `more than ${MAX_SERVICE_CALLS} service calls at once`);
      reply({ t: 'service-result', id: message.id, ok: false, error: toWireError(busy) });
      return;
    }
    this.#inFlight++;
    try {
      const value = await this.#call(message);
      reply({ t: 'service-result', id: message.id, ok: true, value: encodeValue(value) });
    } catch (error) {
      reply({
        t: 'service-result',
        id: message.id,
        ok: false,
        error: toWireError(this.#publicError(error, message.service)),
      });
    } finally {
      this.#inFlight--;
    }
  }

  async #call(message: Extract<ChildMessage, { t: 'service-call' }>): Promise<unknown> {
    const declared = this.consumes.find((dependency) => dependency.id === message.service);
    const services = this.services(message.callId);
    if (services === undefined || declared === undefined) {
      throw new PlugboardError(
        'SERVICE_NOT_DECLARED',
        `service "${message.service}" is not in the plugin's metadata.consumes`,
      );
    }
    if (REFUSED_SERVICES.has(declared.id)) {
      throw new PlugboardError(
        'PLUGIN_SANDBOX_UNSUPPORTED',
        `service "${declared.id}" is not available to a sandboxed plugin`,
      );
    }
    const ref = knownRef(declared.id, declared.members);
    const service = services.get(ref) as Record<string, unknown>;
    // Only the service's own methods: its ref's members when it lists them, never Object's (constructor …).
    const listed = ref.members.length === 0 || ref.members.includes(message.method);
    const member = listed && !(message.method in Object.prototype) ? service[message.method] : undefined;
    if (typeof member !== 'function') {
      throw new PlugboardError('SERVICE_INVALID', `service "${message.service}" has no method ${message.method}`);
    }
    const value = await (member as (...args: unknown[]) => unknown).apply(service, [...message.args]);
    if (!isPlainData(value, 0)) {
      throw new PlugboardError(
        'SERVICE_INVALID',
        `service "${message.service}".${message.method} answered with something that is not data`,
      );
    }
    return value;
  }

  /** A PlugboardError goes to the plugin as it is; anything else is logged here and summed up there. */
  #publicError(error: unknown, service: string): PlugboardError {
    if (error instanceof PlugboardError) return error;
    // The service's own exception may name hosts or queries of the server: the plugin gets a summary only.
    if (this.log.mayLog()) this.logger().warn({ err: error, service }, 'a service call of a sandboxed plugin failed');
    return new PlugboardError('SERVICE_UNAVAILABLE', `service "${service}" failed (see the server log)`);
  }
}

/** JSON-like data only: no class instances (a client, a pool), no functions, not too deep. */
function isPlainData(value: unknown, depth: number): boolean {
  if (value === null || value === undefined) return true;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return true;
  if (type !== 'object' || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => isPlainData(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value as Record<string, unknown>).every((item) => isPlainData(item, depth + 1));
}

/** Plugboard's own service refs by id (their defaults included); another id gets a stand-in ref. */
let ownRefs: Map<string, ServiceRef<unknown>> | undefined;

/** The ref the server knows by `id` (with its own members), or a stand-in with the plugin's. */
export function knownRef(id: string, members: readonly string[]): ServiceRef<unknown> {
  const own = ownRefs?.get(id);
  if (own !== undefined) return own;
  return createServiceRef<Record<string, unknown>>({ id, members }) as ServiceRef<unknown>;
}

/** Loads the table of Plugboard's exported service refs (lazily: index.ts imports much). */
export async function loadOwnServiceRefs(): Promise<void> {
  if (ownRefs !== undefined) return;
  const index = (await import('../index.ts')) as Record<string, unknown>;
  ownRefs = new Map();
  for (const value of Object.values(index)) {
    if (
      typeof value === 'object' &&
      value !== null &&
      'id' in value &&
      'members' in value &&
      'defaultFactory' in value
    ) {
      ownRefs.set((value as ServiceRef<unknown>).id, value as ServiceRef<unknown>);
    }
  }
}
