// Two functions, not the package's index: that loads all 48 of semver's modules (~15 ms at start).
import valid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import { PlugboardError } from '../errors/plugboard-error.ts';
import { HOOK_BY_METHOD, type HookName } from '../hooks/hook-map.ts';
import { closestMatch } from '../util/closest-match.ts';
import { endpointProblems } from './endpoint-table.ts';
import type { AnyPlugin } from './kinds.ts';
import { PLUGIN_KINDS, type PluginKind } from './metadata.ts';
import { PRIORITIES } from './priority.ts';

/** What the structural check found out about a valid plugin. */
export interface PluginShape {
  readonly plugin: AnyPlugin;
  readonly kinds: ReadonlySet<PluginKind>;
  readonly hookMethods: readonly HookName[];
}

/** The methods that make each kind; `required` must all be present, `optional` are checked if present. */
const KIND_MEMBERS: Readonly<Record<PluginKind, { required: readonly string[]; optional: readonly string[] }>> = {
  'message-processor': { required: ['processMessage'], optional: [] },
  'backend-provider': { required: ['chat', 'listModels'], optional: ['embed'] },
  'feature-extension': { required: ['extend'], optional: ['continueConversation'] },
  middleware: { required: [], optional: ['processRequest', 'answerRequest', 'processResponse'] },
};

const LIFECYCLE_METHODS = ['initialize', 'shutdown', 'healthCheck', 'concerns'] as const;

/** Every member the runtime reads from a plugin. */
const KNOWN_MEMBERS: readonly string[] = [
  'metadata',
  'direction',
  'streaming',
  'endpoints',
  ...LIFECYCLE_METHODS,
  ...Object.values(KIND_MEMBERS).flatMap(({ required, optional }) => [...required, ...optional]),
];

/**
 * The member `member` was probably meant to be: a known member of 8 characters or more
 * (`procesResponse` → `processResponse`) that the plugin lacks. A misspelt method would
 * otherwise be silently ignored — a middleware whose `processResponse` never runs. Short names
 * (`chat`, `embed`) and members the plugin also has under their right name are left alone:
 * a helper method may well be called `chats` or `processMessages`.
 */
function misspeltMember(member: string, candidate: Record<string, unknown>): string | undefined {
  if (KNOWN_MEMBERS.includes(member)) return undefined;
  const meant = closestMatch(member, KNOWN_MEMBERS);
  if (meant === undefined || meant.length < 8 || candidate[meant] !== undefined) return undefined;
  return meant;
}

const NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;

/**
 * The run-time stand-in for the spec's `@runtime_checkable` protocols (FR-2.3): checks that a
 * value has the shape of a plugin and reports every problem at once, naming the member and
 * what was found. `source` (a file path) prefixes the messages.
 *
 * @throws PlugboardError `PLUGIN_INVALID_STRUCTURE` with `details.problems`.
 */
export function checkPluginStructure(value: unknown, source?: string): PluginShape {
  const problems: string[] = [];
  const where = source ? `${source}: ` : '';
  if (typeof value !== 'object' || value === null) {
    throw invalid(
      `${where}expected a plugin object, found ${describe(value)}`,
      [`plugin: found ${describe(value)}`],
      source,
    );
  }
  const candidate = value as Record<string, unknown>;
  const metadata = candidate.metadata as Record<string, unknown> | undefined;
  const name = typeof metadata?.name === 'string' ? metadata.name : undefined;
  checkMetadata(metadata, problems);

  const method = (member: string) => memberOf(candidate, member);
  for (const member of LIFECYCLE_METHODS) checkOptionalFunction(member, method(member), problems);

  const kinds = new Set<PluginKind>();
  for (const kind of PLUGIN_KINDS) {
    const { required, optional } = KIND_MEMBERS[kind];
    const present = [...required, ...optional].filter((member) => method(member) !== undefined);
    if (present.length === 0) continue;
    kinds.add(kind);
    for (const member of required) {
      if (method(member) === undefined)
        problems.push(`${member}: missing (required by ${kind}, which ${present.join(', ')} implies)`);
    }
    for (const member of [...required, ...optional]) checkOptionalFunction(member, method(member), problems);
  }
  checkProcessorOptions(candidate, kinds, problems);
  const endpoints = memberOf(candidate, 'endpoints');
  if (endpoints !== undefined) problems.push(...endpointProblems(endpoints));

  const declared = Array.isArray(metadata?.kinds) ? (metadata.kinds as unknown[]) : [];
  for (const kind of declared) {
    if (!PLUGIN_KINDS.includes(kind as PluginKind)) {
      problems.push(`metadata.kinds: unknown kind ${JSON.stringify(kind)}${suggest(String(kind), PLUGIN_KINDS)}`);
    } else if (!kinds.has(kind as PluginKind)) {
      const { required, optional } = KIND_MEMBERS[kind as PluginKind];
      problems.push(`metadata.kinds: declares ${kind} but has none of ${[...required, ...optional].join(', ')}`);
    }
  }

  const hookMethods: HookName[] = [];
  for (const member of allMemberNames(candidate)) {
    const hook = HOOK_BY_METHOD.get(member);
    if (hook !== undefined) {
      if (typeof method(member) === 'function') hookMethods.push(hook);
      else problems.push(`${member}: must be a function, found ${describe(method(member))}`);
    } else if (/^on[A-Z]/.test(member)) {
      problems.push(`${member}: not a hook${suggest(member, [...HOOK_BY_METHOD.keys()])}`);
    } else {
      const meant = misspeltMember(member, candidate);
      if (meant !== undefined) problems.push(`${member}: not a plugin member (did you mean "${meant}"?)`);
    }
  }
  const providesServices = Array.isArray(metadata?.provides) && metadata.provides.length > 0;
  // A plugin may also do its work by registering into a service it consumes (a tool in the
  // tool registry): it needs an initialize to do so.
  const registers =
    Array.isArray(metadata?.consumes) && metadata.consumes.length > 0 && typeof method('initialize') === 'function';
  if (kinds.size === 0 && hookMethods.length === 0 && !providesServices && endpoints === undefined && !registers) {
    problems.push(
      'plugin implements no kind, no hook, no endpoint, provides no service and registers into none: add processMessage, chat + listModels, extend, processRequest/answerRequest/processResponse, an on<Hook> method, endpoints, metadata.provides, or metadata.consumes with an initialize',
    );
  }

  if (problems.length > 0) {
    const label = name ? `plugin "${name}"` : 'plugin';
    throw invalid(`${where}${label} is not valid: ${problems.join('; ')}`, problems, source, name);
  }
  return { plugin: candidate as unknown as AnyPlugin, kinds, hookMethods };
}

function checkMetadata(metadata: Record<string, unknown> | undefined, problems: string[]): void {
  if (typeof metadata !== 'object' || metadata === null) {
    problems.push(`metadata: missing (expected { name, version, … }), found ${describe(metadata)}`);
    return;
  }
  const known = [
    'name',
    'version',
    'description',
    'kinds',
    'dependencies',
    'priority',
    'failurePolicy',
    'timeoutMs',
    'configSchema',
    'provides',
    'consumes',
    'errors',
  ];
  for (const key of Object.keys(metadata)) {
    if (!known.includes(key)) problems.push(`metadata.${key}: unknown key${suggest(key, known)}`);
  }
  if (typeof metadata.name !== 'string' || !NAME_PATTERN.test(metadata.name)) {
    problems.push(
      `metadata.name: expected lower-case letters, digits, "-" or "_" starting with a letter, found ${describe(metadata.name)}`,
    );
  }
  if (typeof metadata.version !== 'string' || valid(metadata.version) === null) {
    problems.push(`metadata.version: expected a semantic version like "1.0.0", found ${describe(metadata.version)}`);
  }
  if (metadata.description !== undefined && typeof metadata.description !== 'string') {
    problems.push(`metadata.description: expected a string, found ${describe(metadata.description)}`);
  }
  if (metadata.kinds !== undefined && !Array.isArray(metadata.kinds)) {
    problems.push(`metadata.kinds: expected an array of kinds, found ${describe(metadata.kinds)}`);
  }
  if (metadata.dependencies !== undefined) {
    if (
      typeof metadata.dependencies !== 'object' ||
      metadata.dependencies === null ||
      Array.isArray(metadata.dependencies)
    ) {
      problems.push(
        `metadata.dependencies: expected { name: "semver range" }, found ${describe(metadata.dependencies)}`,
      );
    } else {
      for (const [dependency, range] of Object.entries(metadata.dependencies)) {
        if (typeof range !== 'string' || validRange(range) === null) {
          problems.push(
            `metadata.dependencies.${dependency}: expected a semver range like "^1.0.0", found ${describe(range)}`,
          );
        }
      }
    }
  }
  if (metadata.priority !== undefined && !PRIORITIES.includes(metadata.priority as never)) {
    problems.push(
      `metadata.priority: expected one of ${PRIORITIES.join(', ')}, found ${describe(metadata.priority)}${suggest(String(metadata.priority), PRIORITIES)}`,
    );
  }
  if (
    metadata.failurePolicy !== undefined &&
    metadata.failurePolicy !== 'open' &&
    metadata.failurePolicy !== 'closed'
  ) {
    problems.push(`metadata.failurePolicy: expected "open" or "closed", found ${describe(metadata.failurePolicy)}`);
  }
  if (metadata.timeoutMs !== undefined && !(typeof metadata.timeoutMs === 'number' && metadata.timeoutMs > 0)) {
    problems.push(
      `metadata.timeoutMs: expected a positive number of milliseconds, found ${describe(metadata.timeoutMs)}`,
    );
  }
  checkServiceList('metadata.provides', metadata.provides, false, problems);
  checkServiceList('metadata.consumes', metadata.consumes, true, problems);
  const errors = metadata.errors as { namespace?: unknown; entries?: unknown } | undefined;
  if (errors !== undefined && (typeof errors?.namespace !== 'string' || typeof errors.entries !== 'object')) {
    problems.push(
      `metadata.errors: expected the result of defineErrors(namespace, entries), found ${describe(errors)}`,
    );
  }
  const schema = metadata.configSchema as { '~standard'?: { validate?: unknown } } | undefined;
  if (schema !== undefined && typeof schema?.['~standard']?.validate !== 'function') {
    problems.push(
      'metadata.configSchema: expected a Standard Schema (zod, valibot, arktype …), found an object without ~standard.validate',
    );
  }
}

/** `provides` lists service refs; `consumes` lists refs or optionalService(ref). */
function checkServiceList(where: string, value: unknown, optionalAllowed: boolean, problems: string[]): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    problems.push(`${where}: expected an array of service refs (createServiceRef), found ${describe(value)}`);
    return;
  }
  const seen = new Set<string>();
  value.forEach((item: unknown, index) => {
    const entry = item as { id?: unknown; ref?: { id?: unknown }; optional?: unknown } | null;
    const ref = optionalAllowed && entry?.optional === true ? entry.ref : entry;
    if (typeof ref?.id !== 'string') {
      problems.push(
        `${where}[${index}]: expected a service ref${optionalAllowed ? ' or optionalService(ref)' : ''}, found ${describe(item)}`,
      );
      return;
    }
    if (seen.has(ref.id)) problems.push(`${where}[${index}]: service "${ref.id}" is listed twice`);
    seen.add(ref.id);
  });
}

function checkProcessorOptions(candidate: Record<string, unknown>, kinds: Set<PluginKind>, problems: string[]): void {
  const direction = memberOf(candidate, 'direction');
  if (direction !== undefined && !['input', 'output', 'both'].includes(direction as string)) {
    problems.push(`direction: expected "input", "output" or "both", found ${describe(direction)}`);
  }
  const streaming = memberOf(candidate, 'streaming') as Record<string, unknown> | undefined;
  if (streaming === undefined) return;
  if (!kinds.has('message-processor'))
    problems.push('streaming: only message processors (with processMessage) can stream');
  if (typeof streaming !== 'object' || streaming === null) {
    problems.push(`streaming: expected { window, transform }, found ${describe(streaming)}`);
    return;
  }
  if (!(typeof streaming.window === 'number' && Number.isInteger(streaming.window) && streaming.window >= 0)) {
    problems.push(`streaming.window: expected a whole number of characters ≥ 0, found ${describe(streaming.window)}`);
  }
  // A sandboxed plugin's proxy streams through one asynchronous call per chunk (RemoteStreamingSupport).
  if (streaming.remote === true && typeof streaming.settle === 'function') return;
  if (typeof streaming.transform !== 'function')
    problems.push(`streaming.transform: must be a function, found ${describe(streaming.transform)}`);
  checkOptionalFunction('streaming.holdBack', streaming.holdBack, problems);
}

function checkOptionalFunction(member: string, value: unknown, problems: string[]): void {
  if (value !== undefined && typeof value !== 'function')
    problems.push(`${member}: must be a function, found ${describe(value)}`);
}

/** Own and prototype members (class instances keep their methods on the prototype). */
function memberOf(candidate: Record<string, unknown>, member: string): unknown {
  return candidate[member];
}

function allMemberNames(candidate: object): string[] {
  const names = new Set<string>();
  for (
    let proto: object | null = candidate;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function suggest(word: string, candidates: readonly string[]): string {
  const match = closestMatch(word, candidates);
  return match ? ` (did you mean "${match}"?)` : '';
}

/** A short description of a value for error messages: its type, and the value when short. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

function invalid(message: string, problems: string[], source?: string, plugin?: string): PlugboardError {
  return new PlugboardError('PLUGIN_INVALID_STRUCTURE', message, {
    ...(plugin === undefined ? {} : { plugin }),
    details: { problems, ...(source === undefined ? {} : { file: source }) },
  });
}
