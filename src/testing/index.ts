/**
 * Plugboard's test kit, for plugin authors and for our own tests.
 *
 * @example
 * ```ts
 * import { createScriptedBackend, startManager, chatRequest } from 'plugboard/testing';
 * ```
 */
export { chatRequest, collectStream, startManager } from './helpers.ts';
export {
  createScriptedBackend,
  type ScriptedBackend,
  type ScriptedBackendOptions,
  type ScriptedReply,
} from './scripted-backend.ts';
