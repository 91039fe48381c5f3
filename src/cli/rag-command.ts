import { join } from 'node:path';
import { createJiti } from 'jiti';
import type * as RagCli from '../../plugins/rag/cli.ts';
import { FIRST_PARTY_FOLDER } from '../config/builtin-plugins.ts';
import type { CommandIo } from './config-commands.ts';

/**
 * `plugboard rag add PATH… [--collection C] [--url U] [--api-key K]`: uploads documents to a
 * running server's RAG API, with a progress bar. The command lives with the rag plugin
 * (plugins/rag/cli.ts); like `keys`, it is loaded through jiti, since the precompiled build
 * covers src/ only. Returns the exit code.
 *
 * @example
 * ```ts
 * await ragCommand(['add', 'docs/', '--collection', 'handbook'], io);
 * ```
 */
export async function ragCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const cli = await createJiti(import.meta.url).import<typeof RagCli>(join(FIRST_PARTY_FOLDER, 'rag', 'cli.ts'));
  return cli.runRagCommand(argv, io);
}
