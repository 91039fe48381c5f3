import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { locatePluginEntry, setPluginConfig } from '../../config/config-file-edit.ts';
import { fileWriteProblem, writeFileAtomically } from '../../config/config-file-write.ts';
import { valueAt } from '../../config/config-issue.ts';
import { redactSecrets } from '../../config/redact.ts';
import { type PluginSection, pluginNameSchema, SECTION_KIND } from '../../config/schema.ts';
import { type ConfigKeyPath, mergeSubmitted } from '../../config/submitted-config.ts';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { PluginStatus } from '../../core/manager/reports.ts';
import type { PluginKind } from '../../core/plugin/metadata.ts';
import { isSecretKey, redactCredentials } from '../../core/util/redact.ts';
import { sendError } from '../error-format.ts';
import { plugboardErrorBody, toHttpError } from '../http-errors.ts';
import type { ServerContext } from '../server-context.ts';
import { serverErrors } from '../server-errors.ts';
import { type AdminRefusal, refusalOf } from './admin-refusal.ts';
import { configJsonSchema, type PluginConfigIssue, pluginConfigIssues } from './plugin-config-schema.ts';

/** `GET /admin/plugins/:name/config`: what a form needs to edit a plugin's config. */
export interface PluginConfigView {
  readonly plugin: string;
  /** Its first plugin kind (`backend-provider` …); null for a plugin of no kind, or one not loaded. */
  readonly kind: PluginKind | null;
  /** The section its entry is in (`backends` …); null when the file has no entry for it. */
  readonly section: PluginSection | null;
  /** JSON Schema (draft 2020-12) of its `config`; null when it declares none (or it is not loaded). */
  readonly schema: Record<string, unknown> | null;
  /** Its `config` as in effect (`${VAR}` substituted), secrets redacted as in `GET /admin/config`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The configuration file; null when the server runs from none. */
  readonly file: string | null;
  /** Whether `PUT` can write it; when not, `reason` says why. */
  readonly writable: boolean;
  readonly reason?: string;
}

/** `PUT /admin/plugins/:name/config`: what was written and what the reload did. */
export interface PluginConfigUpdate {
  readonly plugin: string;
  readonly file: string;
  /** False when the config sent is what the file already says: nothing written, nothing reloaded. */
  readonly changed: boolean;
  /**
   * What the reload did to this plugin: `applied` or `unchanged`. A reload that refuses it is
   * no answer of this kind: the old file is put back and the PUT fails (422 `PLUGIN_CONFIG_REFUSED`).
   */
  readonly outcome: 'applied' | 'unchanged';
  readonly snapshotVersion: number;
  /** The reload's report, as `POST /admin/reload` answers it. */
  readonly applied: readonly string[];
  readonly refused: readonly AdminRefusal[];
  readonly issues: readonly string[];
  /** The config now in effect, as `GET` shows it. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The plugin's status after the reload; absent when it is not loaded. */
  readonly status?: PluginStatus;
}

/** admin-routes' `audited`: runs an admin action and writes its audit line. */
export type AdminAudit = <T extends object>(
  request: FastifyRequest,
  operation: string,
  plugin: string | undefined,
  action: () => Promise<{
    readonly response: T;
    readonly outcome?: string;
    readonly log?: Readonly<Record<string, unknown>>;
  }>,
) => Promise<T>;

interface PluginParams {
  readonly name: string;
}

/**
 * The config editor of the admin API (the web UI's plugin forms): `GET` and `PUT
 * /admin/plugins/:name/config`, registered in the admin scope (its authentication applies).
 * A `PUT` validates the config with the plugin's own schema (400 with each issue's key path),
 * writes it into the plugin's entry in the configuration file — that mapping only, the rest of
 * the file byte for byte, atomically — and reloads the file. A key written `${VAR}` whose
 * value comes back unchanged keeps its reference; a secret sent back redacted keeps the file's
 * value (unless an address next to it changed: 400, type it again); a changed string is
 * written with `${` escaped, as literal text. A new config the reload refuses puts the old file
 * back: 422 `PLUGIN_CONFIG_REFUSED`. Refusals that editing the file by hand would avoid are
 * 409 `CONFIG_NOT_EDITABLE`.
 */
export function registerPluginConfigRoutes(admin: FastifyInstance, context: ServerContext, audited: AdminAudit): void {
  // One edit at a time: two saves must not read the same file and both write it.
  let editing: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = editing.then(task, task);
    editing = run.catch(() => undefined);
    return run;
  };

  admin.register(async (scope) => {
    // A 400 carries the issues, for the form to show next to each field; a 422 the refusal.
    scope.setErrorHandler((thrown, request, reply) => {
      const error = toHttpError(thrown);
      const issues = error.code === 'PLUGIN_CONFIG_INVALID' ? error.details?.issues : undefined;
      const refused = error.code === serverErrors.codeOf('PLUGIN_CONFIG_REFUSED') ? error.details?.refused : undefined;
      if (!Array.isArray(issues) && !Array.isArray(refused))
        return sendError(request, reply, error, plugboardErrorBody);
      return sendError(request, reply, error, (failure, requestId) => {
        const body = plugboardErrorBody(failure, requestId) as { error: Record<string, unknown> };
        return { error: { ...body.error, ...(Array.isArray(issues) ? { issues } : { refused }) } };
      });
    });

    scope.get<{ Params: PluginParams }>('/plugins/:name/config', (request) => {
      const { name } = request.params;
      return audited(request, 'admin_plugin_config', name, async () => ({
        response: await viewOf(context, name),
        outcome: 'read',
      }));
    });

    scope.put<{ Params: PluginParams; Body: unknown }>('/plugins/:name/config', (request) => {
      const { name } = request.params;
      return audited(request, 'admin_plugin_config_update', name, async () => {
        const submitted = submittedConfig(request.body);
        const response = await exclusive(() => updateConfig(context, name, submitted));
        return {
          response,
          outcome: response.changed ? response.outcome : 'unchanged',
          log: { file: response.file, version: response.snapshotVersion },
        };
      });
    });
  });
}

async function viewOf(context: ServerContext, name: string): Promise<PluginConfigView> {
  const status = statusOf(context, name);
  const control = context.admin;
  const file = control?.file;
  const metadata = context.manager.pluginMetadata(name);
  const common = {
    plugin: name,
    kind: status?.kinds[0] ?? null,
    schema: configJsonSchema(metadata?.configSchema),
    file: file ?? null,
  };
  if (control === undefined || file === undefined) {
    if (status === undefined) throw notFound(name);
    return { ...common, section: null, config: {}, writable: false, reason: noFileReason() };
  }
  const effective = control.pluginEntry?.(name);
  let located: ReturnType<typeof locatePluginEntry> | undefined;
  let problem: string | undefined;
  try {
    located = locatePluginEntry(await readFile(file, 'utf8'), name);
    problem = await fileWriteProblem(file);
  } catch (error) {
    problem = `${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  if (status === undefined && located?.ok !== true && effective === undefined) throw notFound(name);
  const config = redactSecrets(effective?.config ?? (located?.ok ? located.config : {})) as Record<string, unknown>;
  const section = effective?.section ?? (located?.ok ? located.section : null);
  const reason =
    problem ?? (located === undefined || located.ok ? undefined : entryReason(name, located.reason, status, file));
  return { ...common, section, config, writable: reason === undefined, ...(reason === undefined ? {} : { reason }) };
}

async function updateConfig(
  context: ServerContext,
  name: string,
  submitted: Readonly<Record<string, unknown>>,
): Promise<PluginConfigUpdate> {
  const control = context.admin;
  const file = control?.file;
  const status = statusOf(context, name);
  if (control === undefined || file === undefined) {
    if (status === undefined) throw notFound(name);
    throw notEditable(name, noFileReason());
  }
  const problem = await fileWriteProblem(file);
  if (problem !== undefined) throw notEditable(name, problem);
  const text = await readFile(file, 'utf8');
  const located = locatePluginEntry(text, name);
  if (!located.ok) {
    if (located.kind === 'not-found' && status === undefined) throw notFound(name);
    throw notEditable(name, entryReason(name, located.reason, status, file));
  }

  // What the form was shown, and what stands behind it: the file's text, the values in effect.
  const resolved = control.pluginEntry?.(name)?.config ?? located.config;
  const shown = redactSecrets(resolved) as Record<string, unknown>;
  // Written with `${` escaped in what the user typed: the loader must not read it as a reference.
  const toWrite = mergeSubmitted(submitted, shown, located.config, { escapeReferences: true });
  const toCheck = mergeSubmitted(submitted, shown, resolved);
  const issues: PluginConfigIssue[] = [
    ...toWrite.placeholders.map((path) => ({
      path,
      message: 'holds a placeholder of a hidden secret ([redacted], ***): type the whole value again',
    })),
    ...toWrite.movedSecrets.map((path) => ({
      path,
      message: 'type the secret again: the address it is sent to changed',
    })),
  ];
  const schema = context.manager.pluginMetadata(name)?.configSchema;
  const secrets = secretValues(resolved);
  for (const issue of await pluginConfigIssues(schema, toCheck.value, (path) => isReference(toWrite.value, path))) {
    issues.push({ path: issue.path, message: redactCredentials(issue.message, secrets) });
  }
  if (issues.length > 0) {
    const listed = issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new PlugboardError('PLUGIN_CONFIG_INVALID', `The config of "${name}" is not valid: ${listed.join('; ')}`, {
      plugin: name,
      details: { issues },
    });
  }

  const edit = setPluginConfig(text, name, toWrite.value);
  if (!edit.ok) throw notEditable(name, edit.reason);
  if (!edit.changed) {
    return {
      plugin: name,
      file,
      changed: false,
      outcome: 'unchanged',
      snapshotVersion: context.manager.getPluginStatus().snapshotVersion,
      applied: [],
      refused: [],
      issues: [],
      config: shown,
      ...statusField(context, name),
    };
  }
  await writeFileAtomically(file, edit.text);
  const report = await control.reload();
  context.manager.models.invalidate();
  const refused = report.refused.map(refusalOf);
  const ownRefusal = refused.find((refusal) => refusal.plugin === name);
  if (ownRefusal !== undefined) {
    // Leave no file the server refuses: put the old text back, and reload it so the effective
    // config (GET) is the running one again. The other changes of the file are in both texts.
    await writeFileAtomically(file, text);
    await control.reload();
    context.manager.models.invalidate();
    throw serverErrors.PLUGIN_CONFIG_REFUSED(
      `The reload refused the new config of "${name}"; the file was put back and the running version stays: ${ownRefusal.message}`,
      { plugin: name, details: { refused: [ownRefusal] } },
    );
  }
  return {
    plugin: name,
    file,
    changed: true,
    outcome: report.applied.includes(name) ? 'applied' : 'unchanged',
    snapshotVersion: report.snapshotVersion,
    applied: report.applied,
    refused,
    issues: report.issues,
    config: redactSecrets(control.pluginEntry?.(name)?.config ?? toWrite.value) as Record<string, unknown>,
    ...statusField(context, name),
  };
}

/** The body of a PUT: `{ "config": { … } }` and nothing else. @throws PlugboardError `REQUEST_INVALID`. */
function submittedConfig(body: unknown): Readonly<Record<string, unknown>> {
  const config = isPlainObject(body) ? body.config : undefined;
  if (!isPlainObject(body) || !isPlainObject(config)) {
    throw new PlugboardError('REQUEST_INVALID', 'Send a JSON body { "config": { … } } with the plugin\'s whole config');
  }
  const extra = Object.keys(body).filter((key) => key !== 'config');
  if (extra.length > 0) {
    throw new PlugboardError('REQUEST_INVALID', `Unknown field(s) ${extra.join(', ')}: send { "config": { … } } only`);
  }
  return config;
}

function statusOf(context: ServerContext, name: string): PluginStatus | undefined {
  const plugins = context.manager.getPluginStatus().plugins;
  return Object.hasOwn(plugins, name) ? plugins[name] : undefined;
}

function statusField(context: ServerContext, name: string): { status?: PluginStatus } {
  const status = statusOf(context, name);
  return status === undefined ? {} : { status };
}

/** Why an entry the file does not have (or that this editor cannot change) cannot be written. */
function entryReason(name: string, reason: string, status: PluginStatus | undefined, file: string): string {
  if (!reason.startsWith('no entry') || status?.source === undefined) return reason;
  // A plugin found by discovery runs with defaults and has no entry to write into. Adding one
  // is the operator's choice (it turns a dropped-in file into a configured plugin): say how.
  const kind = status.kinds[0];
  const section =
    (Object.entries(SECTION_KIND).find(([, sectionKind]) => sectionKind === kind)?.[0] as PluginSection | undefined) ??
    'middleware';
  const pluginFile = relative(dirname(file), status.source).split(sep).join('/');
  return `${reason}: it was discovered and runs with its defaults; to configure it, add its entry to the file (${section}: { ${name}: { plugin_file: ${pluginFile} } }) and edit again`;
}

function noFileReason(): string {
  return 'the server runs from no configuration file (start it with `plugboard serve --config <file>`)';
}

function notFound(name: string): PlugboardError {
  if (!pluginNameSchema.safeParse(name).success) {
    return new PlugboardError('PLUGIN_NOT_FOUND', 'No plugin has that name (plugin names use a-z, 0-9, - and _)');
  }
  return new PlugboardError('PLUGIN_NOT_FOUND', `No plugin named "${name}" is loaded or configured`, { plugin: name });
}

function notEditable(name: string, reason: string): PlugboardError {
  return serverErrors.CONFIG_NOT_EDITABLE(`Cannot change the config of "${name}": ${reason}`, { plugin: name });
}

/** True when the value at `path` is written as one whole `${VAR}` reference (may be coerced). */
function isReference(config: unknown, path: ConfigKeyPath): boolean {
  const value = valueAt(config, path);
  return typeof value === 'string' && /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::[^}]*)?\}$/.test(value);
}

/** The values of secret-named keys, to keep out of validation messages. */
function secretValues(config: unknown, found: string[] = []): string[] {
  if (typeof config !== 'object' || config === null) return found;
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'string' && isSecretKey(key)) found.push(value);
    else secretValues(value, found);
  }
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
