import { EXIT_CODES, serve } from '../server/serve.ts';
import { parsePort } from '../server/settings.ts';
import type { CommandIo } from './config-commands.ts';

/** Flags of `plugboard serve`. */
export interface ServeFlags {
  readonly config?: string | undefined;
  readonly port?: string | undefined;
  readonly host?: string | undefined;
}

/**
 * `plugboard serve`: runs the server until SIGTERM/SIGINT and returns the exit code
 * (see EXIT_CODES: 0 clean stop, 1 could not start, 2 usage, 3 forced stop, 4 stopped on an unknown process state).
 */
export async function serveCommand(flags: ServeFlags, io: CommandIo): Promise<number> {
  let port: number | undefined;
  try {
    port = flags.port === undefined ? undefined : parsePort(flags.port, '--port');
  } catch (error) {
    io.err((error as Error).message);
    return EXIT_CODES.usage;
  }
  try {
    const running = await serve({
      ...(flags.config === undefined ? {} : { configFile: flags.config }),
      ...(port === undefined ? {} : { port }),
      ...(flags.host === undefined ? {} : { host: flags.host }),
      // Development without an admin token: one for this run, in the log's `Web UI:` address.
      devAdminToken: true,
    });
    io.err(
      `Plugboard ${running.url} — OpenAI API at ${running.url}/v1, Ollama API at ${running.url}/api (Ctrl-C stops)`,
    );
    return await running.stopped;
  } catch (error) {
    io.err(`plugboard: could not start: ${(error as Error).message}`);
    return EXIT_CODES.startFailed;
  }
}
