import type {
  AnyPlugin,
  BackendProvider,
  FeatureExtension,
  MessageProcessor,
  Middleware,
} from '../core/plugin/kinds.ts';

/*
 * The define… helpers return their argument unchanged: they exist so that an editor infers
 * every parameter type while you write the plugin, and the config type flows from
 * `metadata.configSchema` into `initialize`. A class implementing the same interface works too.
 */

/**
 * Defines a plugin of any kind(s), or one that only handles hooks.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   metadata: { name: 'audit', version: '1.0.0', priority: 'MONITORING' },
 *   onRequestEnd: ({ context, outcome, durationMs }) => {
 *     console.log(context.requestId, outcome, durationMs);
 *   },
 * });
 * ```
 */
export function definePlugin<Config = unknown>(plugin: AnyPlugin<Config>): AnyPlugin<Config> {
  return plugin;
}

/**
 * Defines a message processor.
 *
 * @example
 * ```ts
 * export default defineMessageProcessor({
 *   metadata: { name: 'trim', version: '1.0.0' },
 *   direction: 'input',
 *   processMessage: (message) => withContent(message, message.content.trim()),
 * });
 * ```
 */
export function defineMessageProcessor<Config = unknown>(plugin: MessageProcessor<Config>): MessageProcessor<Config> {
  return plugin;
}

/**
 * Defines a backend provider.
 *
 * @example
 * ```ts
 * export default defineBackend({
 *   metadata: { name: 'static', version: '1.0.0' },
 *   chat: () => ({ message: createMessage({ role: 'assistant', content: 'Hello!' }) }),
 *   listModels: () => [{ id: 'static' }],
 * });
 * ```
 */
export function defineBackend<Config = unknown>(plugin: BackendProvider<Config>): BackendProvider<Config> {
  return plugin;
}

/**
 * Defines a feature extension.
 *
 * @example
 * ```ts
 * export default defineFeatureExtension({
 *   metadata: { name: 'today', version: '1.0.0' },
 *   extend: (context) =>
 *     appendMessages(context, [createMessage({ role: 'system', content: `Today is ${new Date().toDateString()}.` })], {
 *       position: 'start',
 *     }),
 * });
 * ```
 */
export function defineFeatureExtension<Config = unknown>(plugin: FeatureExtension<Config>): FeatureExtension<Config> {
  return plugin;
}

/**
 * Defines a middleware.
 *
 * @example
 * ```ts
 * export default defineMiddleware({
 *   metadata: { name: 'tag', version: '1.0.0' },
 *   processResponse: (response) => ({ ...response, metadata: { ...response.metadata, tagged: true } }),
 * });
 * ```
 */
export function defineMiddleware<Config = unknown>(plugin: Middleware<Config>): Middleware<Config> {
  return plugin;
}
