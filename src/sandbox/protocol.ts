/*
 * The messages between the server and a sandboxed plugin's process, over a pipe (framed-pipe.ts)
 * (JSON). One request/answer pair per plugin call, keyed by `id`; a streamed answer (a backend's
 * chunks) follows its `result` as `chunk` messages and one `end`. Everything in here must be
 * JSON: errors travel as {@link WireError}, never as Error objects.
 */
import type { JsonValue } from '../core/stores/json.ts';

/** A PlugboardError (or any thrown value) as it crosses the boundary. */
export interface WireError {
  readonly code?: string;
  readonly message: string;
  /** Set when the error is a PlugboardError: the rest is rebuilt from these. */
  readonly plugboard?: {
    readonly status: number;
    readonly publicMessage: string;
    readonly plugin?: string;
    readonly hook?: string;
    readonly details?: Record<string, unknown>;
    readonly headers?: Record<string, string>;
  };
  readonly name?: string;
  readonly stack?: string;
}

/** What the sandboxed process enforces on the plugin, sent with `load`. */
export interface ChildPolicy {
  readonly allowedImports: readonly string[];
  readonly deniedImports: readonly string[];
  /** Folders (absolute) whose modules are Plugboard's own: always importable. */
  readonly trustedRoots: readonly string[];
  /** Hosts `fetch` may reach through the server (empty: no network at all). */
  readonly allowedHosts: readonly string[];
}

/** The plugin as the parent needs to know it, sent back after `load`. */
export interface PluginShape {
  readonly metadata: {
    readonly name: string;
    readonly version: string;
    readonly description?: string;
    readonly kinds?: readonly string[];
    readonly dependencies?: Record<string, string>;
    readonly priority?: string;
    readonly failurePolicy?: string;
    readonly timeoutMs?: number;
    /** Consumed service ids, and whether each is optional. */
    readonly consumes?: readonly {
      readonly id: string;
      readonly optional: boolean;
      readonly members: readonly string[];
    }[];
    readonly provides?: readonly string[];
    /** The plugin's own error codes (`defineErrors`), registered in the server too. */
    readonly errors?: {
      readonly namespace: string;
      readonly entries: Record<string, { summary: string; hint: string; status: number }>;
    };
  };
  /** The plugin's methods (own and inherited), by name. */
  readonly methods: readonly string[];
  readonly direction?: 'input' | 'output' | 'both';
  /** Present when the plugin streams its output transform: its window. */
  readonly streamingWindow?: number;
  readonly endpoints: number;
  /** The JSON Schema of its config (draft 2020-12), when it declares a schema. */
  readonly configJsonSchema: Record<string, unknown> | null;
  readonly hasConfigSchema: boolean;
}

/** The outcome of validating one config in the child, with the plugin's own schema. */
export type ConfigCheck =
  | { readonly ok: true; readonly value: JsonValue }
  | {
      readonly ok: false;
      readonly issues: readonly { readonly path: readonly (string | number)[]; readonly message: string }[];
    };

export type ParentMessage =
  | { readonly t: 'load'; readonly modulePath: string; readonly policy: ChildPolicy; readonly config?: JsonValue }
  | { readonly t: 'check-config'; readonly id: number; readonly config: JsonValue }
  | {
      readonly t: 'call';
      readonly id: number;
      readonly method: string;
      readonly args: readonly unknown[];
      readonly requestId?: string;
    }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'ping'; readonly id: number }
  | {
      readonly t: 'service-result';
      readonly id: number;
      readonly ok: boolean;
      readonly value?: unknown;
      readonly error?: WireError;
    }
  | {
      readonly t: 'fetch-result';
      readonly id: number;
      readonly ok: boolean;
      readonly value?: WireResponse;
      readonly error?: WireError;
    };

export type ChildMessage =
  | { readonly t: 'ready' }
  | { readonly t: 'loaded'; readonly shape: PluginShape; readonly configCheck?: ConfigCheck }
  | { readonly t: 'load-failed'; readonly error: WireError }
  | { readonly t: 'config-checked'; readonly id: number; readonly check: ConfigCheck }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value?: unknown; readonly stream?: true }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'chunk'; readonly id: number; readonly value: unknown }
  | { readonly t: 'end'; readonly id: number }
  | { readonly t: 'stream-error'; readonly id: number; readonly error: WireError }
  | { readonly t: 'pong'; readonly id: number }
  | {
      readonly t: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly fields: Record<string, unknown>;
      readonly msg: string;
    }
  | {
      readonly t: 'effect';
      readonly id: number;
      readonly kind: 'header' | 'data';
      readonly name: string;
      readonly value: unknown;
    }
  | {
      readonly t: 'service-call';
      readonly id: number;
      readonly callId: number;
      readonly service: string;
      readonly method: string;
      readonly args: readonly unknown[];
    }
  | { readonly t: 'fetch'; readonly id: number; readonly request: WireRequest };

/** A `fetch` request a sandboxed plugin asks the server to make (only to its allowed hosts). */
export interface WireRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: readonly [string, string][];
  /** Base64 of the body. */
  readonly body?: string;
}

/** The answer to a {@link WireRequest}. */
export interface WireResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: readonly [string, string][];
  /** Base64 of the body. */
  readonly body: string;
}

/** Exit codes the child uses to say why it ended by itself. */
export const CHILD_EXIT = {
  /** The server went away (its message pipe closed). */
  parentGone: 0,
  /** The child could not start its host (bad first message, broken install). */
  bootFailed: 70,
} as const;
