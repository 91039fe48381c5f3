import '../server/server-errors.ts';
import '../connections/connection-errors.ts';
import { loadConfig } from '../config/load-config.ts';
import { importEntry } from '../config/plugin-entries.ts';
import { listErrorCodes } from '../core/errors/error-registry.ts';
import { describeCause } from '../core/errors/plugboard-error.ts';
import type { CommandIo } from './config-commands.ts';

/**
 * `plugboard errors [file] [--json]`: every error code a client or a log may show — the
 * core's, the server's, the shared connections', and those of each plugin the configuration
 * names (`defineErrors`, registered when its module is imported) — with its HTTP status,
 * summary and hint. Markdown by default (the troubleshooting guide is built from it), or JSON.
 * Returns the exit code: 0, or 1 when a plugin module could not be imported.
 */
export async function errorsCommand(file: string | undefined, json: boolean, io: CommandIo): Promise<number> {
  const loaded = await loadConfig(file === undefined ? {} : { file });
  let failed = 0;
  for (const entry of loaded.config.plugins) {
    try {
      await importEntry(entry, loaded.file, loaded.config.security);
    } catch (error) {
      failed++;
      io.err(`${entry.section}.${entry.name}: its codes are missing: ${describeCause(error)}`);
    }
  }
  const codes = listErrorCodes();
  if (json) {
    io.out(JSON.stringify({ errors: codes }, null, 2));
  } else {
    io.out('| code | status | source | what went wrong | what to do |');
    io.out('| --- | --- | --- | --- | --- |');
    const cell = (text: string) => text.replaceAll('|', '\\|');
    for (const entry of codes) {
      io.out(
        `| \`${entry.code}\` | ${entry.status} | ${entry.source} | ${cell(entry.summary)} | ${cell(entry.hint)} |`,
      );
    }
  }
  return failed > 0 ? 1 : 0;
}
