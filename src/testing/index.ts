/**
 * Plugboard's test kit, for plugin authors and for our own tests.
 *
 * @example
 * ```ts
 * import { createScriptedBackend, startManager, chatRequest } from 'plugboard/testing';
 * ```
 */

export {
  type ConversationStoreContractOptions,
  testConversationStoreContract,
} from './contracts/conversation-store-contract.ts';
export { type KeyValueStoreContractOptions, testKeyValueStoreContract } from './contracts/key-value-store-contract.ts';
export { type SearchIndexContractOptions, testSearchIndexContract } from './contracts/search-index-contract.ts';
export { chatRequest, collectStream, startManager } from './helpers.ts';
export { createRedisConnections } from './redis-connections.ts';
export {
  createScriptedBackend,
  type ScriptedBackend,
  type ScriptedBackendOptions,
  type ScriptedReply,
} from './scripted-backend.ts';
