import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { ChatContext } from '../model/context.ts';
import type { Message } from '../model/message.ts';
import type { ChatChunk, ChatResponse, FinishReason, Usage } from '../model/reply.ts';
import type { PluginMetadata } from '../plugin/metadata.ts';

/**
 * How the handlers of a hook run (named after Rollup's hook kinds):
 * - `sequential`: one after another in priority order; results are ignored.
 * - `waterfall`: one after another; each may return a replacement for the payload's subject
 *   (the context or message), which the next handler then sees.
 * - `parallel`: all at once; the dispatch waits for all of them; results are ignored.
 * Whatever the kind, MONITORING handlers run in the background after the others and never delay.
 */
export type HookKind = 'sequential' | 'waterfall' | 'parallel';

/** What changed when the configuration was reloaded (filled by the config layer). */
export interface ConfigReloadReport {
  readonly version: number;
  /** Plugin names added, removed or changed. */
  readonly changed: readonly string[];
  /** Changes that were refused, with the reason. */
  readonly refused: readonly { readonly plugin?: string; readonly reason: string }[];
}

/** How a request ended. */
export type RequestOutcome = 'completed' | 'rejected' | 'failed' | 'aborted';

/**
 * The one typed map of hooks: for each hook name, its kind, the payload handlers receive and
 * what they may return. Every other hook type (handler signatures, plugin method names,
 * metrics keys) is derived from this map.
 */
export interface HookMap {
  startup: { kind: 'sequential'; payload: { readonly plugins: readonly string[] }; result: undefined };
  shutdown: { kind: 'sequential'; payload: { readonly reason: string }; result: undefined };
  pluginLoaded: {
    kind: 'parallel';
    payload: { readonly plugin: string; readonly metadata: PluginMetadata };
    result: undefined;
  };
  pluginUnloaded: {
    kind: 'parallel';
    payload: { readonly plugin: string; readonly reason: string };
    result: undefined;
  };
  configReloaded: { kind: 'parallel'; payload: ConfigReloadReport; result: undefined };
  requestStart: {
    kind: 'waterfall';
    subject: 'context';
    payload: { readonly context: ChatContext };
    result: ChatContext;
  };
  requestEnd: {
    kind: 'parallel';
    payload: {
      readonly context: ChatContext;
      readonly outcome: RequestOutcome;
      readonly response?: ChatResponse;
      readonly error?: PlugboardError;
      /** Tokens the request used: the reply's for a chat, the input's for embeddings (when the backend counts them). */
      readonly usage?: Usage;
      readonly durationMs: number;
    };
    result: undefined;
  };
  messageReceived: {
    kind: 'waterfall';
    subject: 'message';
    payload: { readonly message: Message; readonly context: ChatContext };
    result: Message;
  };
  messageSent: {
    kind: 'parallel';
    payload: { readonly message: Message; readonly context: ChatContext };
    result: undefined;
  };
  beforeModelCall: {
    kind: 'waterfall';
    subject: 'context';
    payload: { readonly context: ChatContext; readonly backend: string; readonly turn: number };
    result: ChatContext;
  };
  afterModelCall: {
    kind: 'sequential';
    payload: {
      readonly context: ChatContext;
      readonly backend: string;
      readonly turn: number;
      readonly message: Message;
      readonly usage?: Usage;
      readonly finishReason?: FinishReason;
      readonly durationMs: number;
    };
    result: undefined;
  };
  streamChunk: {
    kind: 'sequential';
    payload: { readonly chunk: ChatChunk; readonly index: number; readonly context: ChatContext };
    result: undefined;
  };
  error: {
    kind: 'parallel';
    payload: { readonly error: PlugboardError; readonly stage: string; readonly context?: ChatContext };
    result: undefined;
  };
}

/** One of the 13 hook names. */
export type HookName = keyof HookMap;
/** The payload handlers of hook H receive. */
export type HookPayload<H extends HookName> = HookMap[H]['payload'];
/** What handlers of hook H may return (`void` for non-waterfall hooks). */
export type HookReturn<H extends HookName> = HookMap[H]['result'];

/** Kind of each hook, at run time (kept in step with HookMap by the type below). */
export const HOOK_KINDS: { readonly [H in HookName]: HookMap[H]['kind'] } = {
  startup: 'sequential',
  shutdown: 'sequential',
  pluginLoaded: 'parallel',
  pluginUnloaded: 'parallel',
  configReloaded: 'parallel',
  requestStart: 'waterfall',
  requestEnd: 'parallel',
  messageReceived: 'waterfall',
  messageSent: 'parallel',
  beforeModelCall: 'waterfall',
  afterModelCall: 'sequential',
  streamChunk: 'sequential',
  error: 'parallel',
};

/** For waterfall hooks: which payload field a handler may replace. */
export const WATERFALL_SUBJECT = {
  requestStart: 'context',
  messageReceived: 'message',
  beforeModelCall: 'context',
} as const satisfies {
  [H in HookName as HookMap[H] extends { subject: string } ? H : never]: HookMap[H] extends {
    subject: infer S;
  }
    ? S
    : never;
};

/** All hook names, in the order of the spec's list. */
export const HOOK_NAMES = Object.keys(HOOK_KINDS) as readonly HookName[];

/** The plugin method name that auto-registers a handler for hook H (`messageReceived` → `onMessageReceived`). */
export type HookMethodName<H extends HookName = HookName> = `on${Capitalize<H>}`;

/** `messageReceived` → `onMessageReceived`. */
export function hookMethodName<H extends HookName>(hook: H): HookMethodName<H> {
  return `on${hook[0]!.toUpperCase()}${hook.slice(1)}` as HookMethodName<H>;
}

/** Plugin method name → hook name, for auto-registration. */
export const HOOK_BY_METHOD: ReadonlyMap<string, HookName> = new Map(
  HOOK_NAMES.map((hook) => [hookMethodName(hook), hook]),
);
