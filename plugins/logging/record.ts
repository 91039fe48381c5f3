/**
 * The one record written per request: the spec's structured log line (§11.2: timestamp, level,
 * plugin, operation, duration_ms, success) extended with what an operator and an auditor need
 * about a request. Field names are snake_case, as in the rest of Plugboard's log.
 */
import type { HookPayload, Operation, PluginStep, RequestOutcome, StepOutcome } from '../../src/index.ts';
import { lastUserMessage } from '../../src/index.ts';
import type { Redactor } from './redaction.ts';

/** One plugin step of the request, from `ChatResponse.steps`. */
export interface StepRecord {
  readonly plugin: string;
  readonly operation: string;
  readonly outcome: StepOutcome;
  readonly duration_ms: number;
  readonly error_code?: string;
}

/** Why a request did not complete. */
export interface ErrorRecord {
  readonly code: string;
  /** The plugin that failed or refused, when one did. */
  readonly plugin?: string;
  /** The hook or operation that was running. */
  readonly stage?: string;
  /** What the client was told (never a plugin's exception text), redacted. */
  readonly message: string;
}

/** The fields of a request's record (the destination adds `timestamp`, `level`, `plugin`, `message`). */
export interface RequestRecord {
  readonly request_id: string;
  readonly operation: Operation;
  /** `openai` or `ollama`, when the request came through the HTTP server. */
  readonly api?: string;
  readonly outcome: RequestOutcome;
  readonly success: boolean;
  /** The HTTP status the request ended with (200, or the error's). */
  readonly status: number;
  readonly error?: ErrorRecord;
  readonly duration_ms: number;
  /** The principal's id (set by an auth middleware), or null: who asked. */
  readonly principal: string | null;
  /** The caller's address as the server saw it, or null (a request made in-process). */
  readonly client_address: string | null;
  readonly user_agent?: string;
  /** The model that answered, or the one asked for. */
  readonly model?: string;
  readonly backend?: string;
  readonly stream: boolean;
  readonly finish_reason?: string;
  readonly turns?: number;
  readonly tokens?: { readonly prompt: number; readonly completion: number; readonly total: number };
  readonly steps: readonly StepRecord[];
  /** The last user message (with `include_bodies`), redacted and truncated. */
  readonly request_text?: string;
  /** The reply's text (with `include_bodies`), redacted and truncated. */
  readonly reply_text?: string;
}

/** How a record is built. */
export interface RecordOptions {
  readonly redactor: Redactor;
  readonly includeBodies: boolean;
  readonly maxBodyChars: number;
}

/**
 * Characters read past `max_body_chars` before redacting: a secret or card that starts before
 * the cut is still seen whole, so no part of it is left in the truncated text. (A PEM private
 * key, longer than this, is matched to the end of the text even when cut.)
 */
const REDACTION_MARGIN = 4096;

/**
 * The record of one request, from the `requestEnd` hook's payload: everything but the bodies is
 * metadata; free text (the error message, the user agent, the bodies) passes the redactor.
 *
 * @example
 * ```ts
 * const record = buildRecord(payload, { redactor, includeBodies: false, maxBodyChars: 2000 });
 * record.outcome; // 'completed'
 * ```
 */
export function buildRecord(payload: HookPayload<'requestEnd'>, options: RecordOptions): RequestRecord {
  const { context, outcome, response, error } = payload;
  const { redactor } = options;
  const usage = payload.usage ?? response?.usage;
  const api = context.metadata.api;
  const userAgent = context.client?.headers?.['user-agent'];
  const model = response?.model ?? context.model;
  const backend = response?.backend ?? context.backend;
  const record: RequestRecord = {
    request_id: context.requestId,
    operation: context.operation,
    ...(typeof api === 'string' ? { api } : {}),
    outcome,
    success: outcome === 'completed',
    status: outcome === 'completed' ? 200 : (error?.status ?? 500),
    ...(error === undefined
      ? {}
      : {
          error: {
            code: error.code,
            ...(error.plugin === undefined ? {} : { plugin: error.plugin }),
            ...(error.hook === undefined ? {} : { stage: error.hook }),
            message: redactor.text(error.publicMessage),
          },
        }),
    duration_ms: round(payload.durationMs),
    // A caller refused after authentication (auth's 403) has no principal in the context yet:
    // the refusal names it, so the audit trail says who tried.
    principal: context.principal?.id ?? refusedPrincipal(error) ?? null,
    client_address: context.client?.address ?? null,
    ...(userAgent === undefined ? {} : { user_agent: redactor.text(userAgent) }),
    ...(model === undefined ? {} : { model }),
    ...(backend === undefined ? {} : { backend }),
    stream: context.stream,
    ...(response?.finishReason === undefined ? {} : { finish_reason: response.finishReason }),
    ...(response === undefined ? {} : { turns: response.turns }),
    ...(usage === undefined
      ? {}
      : {
          tokens: {
            prompt: usage.promptTokens,
            completion: usage.completionTokens,
            total: usage.promptTokens + usage.completionTokens,
          },
        }),
    steps: (response?.steps ?? []).map(stepRecord),
    ...(options.includeBodies ? bodies(payload, options) : {}),
  };
  // Last, over the whole record: a secret-named field or a credential in any string is hidden.
  return redactor.record(record);
}

function stepRecord(step: PluginStep): StepRecord {
  return {
    plugin: step.plugin,
    operation: step.operation,
    outcome: step.outcome,
    duration_ms: round(step.durationMs),
    ...(step.errorCode === undefined ? {} : { error_code: step.errorCode }),
  };
}

function bodies(
  payload: HookPayload<'requestEnd'>,
  options: RecordOptions,
): { request_text?: string; reply_text?: string } {
  const asked = lastUserMessage(payload.context)?.content;
  const answered = payload.response?.message.content;
  return {
    ...(asked === undefined ? {} : { request_text: body(asked, options) }),
    ...(answered === undefined ? {} : { reply_text: body(answered, options) }),
  };
}

/** Redacted first (on a little more than is kept), then cut: no half of a secret survives the cut. */
export function body(text: string, options: Pick<RecordOptions, 'redactor' | 'maxBodyChars'>): string {
  const max = options.maxBodyChars;
  const redacted = options.redactor.text(
    text.length > max + REDACTION_MARGIN ? text.slice(0, max + REDACTION_MARGIN) : text,
  );
  if (redacted.length <= max) return redacted;
  return `${redacted.slice(0, max)}…[truncated, ${text.length} chars]`;
}

/** Milliseconds to the microsecond: enough, and shorter lines. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The principal a refusal names (`details.principal`, set by auth on a 403), if any. */
function refusedPrincipal(
  error: { readonly details?: Readonly<Record<string, unknown>> } | undefined,
): string | undefined {
  const principal = error?.details?.principal;
  return typeof principal === 'string' ? principal : undefined;
}
