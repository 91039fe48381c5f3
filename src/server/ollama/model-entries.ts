/**
 * Models as Ollama describes them (`/api/tags`, `/api/show`, `/api/ps`), built from what the
 * backends list. Backends describe their models freely (`ModelInfo.details`); an Ollama
 * backend passes Ollama's own facts (size, digest, family, quantization …), either flat or
 * under a nested `details` object as `/api/tags` has them. Missing facts get empty values of
 * the right type, because clients (Go ones especially) fail on missing or mistyped fields.
 */
import { createHash } from 'node:crypto';
import type { ListedModel } from '../../core/routing/model-router.ts';

/** Ollama's `details` of a model. */
export interface OllamaModelDetails {
  readonly parent_model: string;
  readonly format: string;
  readonly family: string;
  readonly families: string[];
  readonly parameter_size: string;
  readonly quantization_level: string;
}

/** One model of `/api/tags`. */
export interface OllamaTagEntry {
  readonly name: string;
  readonly model: string;
  readonly modified_at: string;
  readonly size: number;
  readonly digest: string;
  readonly details: OllamaModelDetails;
}

/**
 * Capabilities advertised when the backend does not say. Clients gate features on them
 * (tool use in agent modes especially); whether a model really supports tools is the
 * backend's call, which reports a clear error if not.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = ['completion', 'tools'];

/**
 * A listed model as an `/api/tags` entry. Its name is the qualified `backend/id`: unique
 * across backends and resolvable as is; a bare id is accepted in requests too.
 *
 * @param fallbackModifiedAt when the backend gives no date (the server's start is used).
 */
export function tagEntry(listed: ListedModel, fallbackModifiedAt: Date): OllamaTagEntry {
  const facts = factsOf(listed);
  return {
    name: listed.qualifiedId,
    model: listed.qualifiedId,
    modified_at: dateText(facts.modified_at) ?? fallbackModifiedAt.toISOString(),
    size: numberOf(facts.size) ?? 0,
    // A stable made-up digest: clients show its first characters and use it to tell models apart.
    digest: textOf(facts.digest) ?? createHash('sha256').update(listed.qualifiedId).digest('hex'),
    details: detailsOf(facts),
  };
}

/** The body of `/api/show`: what Plugboard knows of the model, and that the backend owns it. */
export function showBody(listed: ListedModel, fallbackModifiedAt: Date): Record<string, unknown> {
  const facts = factsOf(listed);
  const entry = tagEntry(listed, fallbackModifiedAt);
  const capabilities = Array.isArray(facts.capabilities)
    ? facts.capabilities.filter((item): item is string => typeof item === 'string')
    : [...DEFAULT_CAPABILITIES];
  return {
    license: textOf(facts.license) ?? '',
    modelfile: [
      `# Served by Plugboard from backend "${listed.backend}".`,
      '# Manage the model (pull, create, delete) on the backend itself.',
      `FROM ${listed.id}`,
      '',
    ].join('\n'),
    parameters: textOf(facts.parameters) ?? '',
    template: textOf(facts.template) ?? '',
    details: entry.details,
    model_info: modelInfoOf(listed, facts, entry.details),
    capabilities,
    modified_at: entry.modified_at,
  };
}

function modelInfoOf(
  listed: ListedModel,
  facts: Record<string, unknown>,
  details: OllamaModelDetails,
): Record<string, unknown> {
  const given = isRecord(facts.model_info) ? facts.model_info : {};
  const info: Record<string, unknown> = { 'plugboard.backend': listed.backend, 'plugboard.model': listed.id };
  if (details.family !== '') info['general.architecture'] = details.family;
  const parameters = numberOf(facts.parameter_count);
  if (parameters !== undefined) info['general.parameter_count'] = parameters;
  // Clients read the context window from `<architecture>.context_length`.
  const contextLength = numberOf(facts.context_length);
  if (contextLength !== undefined) info[`${details.family || 'general'}.context_length`] = contextLength;
  return { ...info, ...given };
}

function detailsOf(facts: Record<string, unknown>): OllamaModelDetails {
  const family = textOf(facts.family) ?? '';
  const families = Array.isArray(facts.families)
    ? facts.families.filter((item): item is string => typeof item === 'string')
    : family === ''
      ? []
      : [family];
  return {
    parent_model: textOf(facts.parent_model) ?? '',
    format: textOf(facts.format) ?? '',
    family,
    families,
    parameter_size: textOf(facts.parameter_size) ?? '',
    quantization_level: textOf(facts.quantization_level) ?? '',
  };
}

/** The backend's facts, flattened: a nested `details` object wins over top-level keys. */
function factsOf(listed: ListedModel): Record<string, unknown> {
  const details = listed.details ?? {};
  return isRecord(details.details) ? { ...details, ...details.details } : { ...details };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function dateText(value: unknown): string | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return date !== undefined && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}
