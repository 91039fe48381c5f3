import { parseArgs } from 'node:util';
import { type CommandIo, configCheck, configPrint } from './config-commands.ts';
import { errorsCommand } from './errors-command.ts';
import { keysCommand } from './keys-command.ts';
import { modelsCommand } from './models-command.ts';
import { ragCommand } from './rag-command.ts';
import { serveCommand } from './serve-command.ts';

const USAGE = `Usage: plugboard <command>

Commands:
  serve [--config file] [--port n] [--host h]
                                   run the HTTP server (OpenAI API under /v1, Ollama API
                                   under /api); env PORT, HOST, PLUGBOARD_ADMIN_TOKEN
  config check [file] [--strict]   validate a configuration file and the plugins it names
                                   (--strict: warnings fail the check too)
  config print [file]              show the effective configuration, secrets redacted
  errors [file] [--json]           every error code (core, server, the configured plugins'):
                                   status, summary, hint — a Markdown table, or JSON
  keys create|list|revoke --file f create, list or revoke API keys of the auth plugin's
                                   keys file (plugboard keys --help for the options)
  rag add PATH… [--collection C] [--url U] [--api-key K]
                                   upload documents (files or folders) to a running server's
                                   rag API, with a progress bar (plugboard rag --help)
  models pull SOURCE [--dir D]     download a GGUF model (hf:owner/repo/file.gguf or a URL) into
                                   the models folder: resumable, checksum-verified
  models list [--dir D]            the models folder's GGUF files (plugboard models --help)

The file defaults to $PLUGBOARD_CONFIG, then plugins/config.yaml.
Exit codes: 0 success, 1 invalid configuration (or the server could not start),
2 wrong usage, 3 the server stopped but its shutdown deadline cut requests short.`;

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CommandIo = consoleIo): Promise<number> {
  // `keys` has options of its own (--file, --id, --scopes …): it parses its arguments itself.
  if (argv[0] === 'keys') return keysCommand(argv.slice(1), io);
  // `rag` too (--collection, --url, --api-key).
  if (argv[0] === 'rag') return ragCommand(argv.slice(1), io);
  // `models` too (--dir).
  if (argv[0] === 'models') return modelsCommand(argv.slice(1), io);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, subcommand, file, ...rest] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    io.out(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  if (command === 'serve' && subcommand === undefined) {
    return serveCommand(parsed.values, io);
  }
  if (parsed.values.config !== undefined || parsed.values.port !== undefined || parsed.values.host !== undefined) {
    io.err(`--config, --port and --host belong to "serve"\n\n${USAGE}`);
    return 2;
  }
  if (command === 'errors' && file === undefined) return errorsCommand(subcommand, parsed.values.json ?? false, io);
  if (command === 'config' && rest.length === 0) {
    if (subcommand === 'check') return configCheck(file, parsed.values.strict ?? false, io);
    if (subcommand === 'print') return configPrint(file, io);
  }
  io.err(`Unknown command: ${parsed.positionals.join(' ')}\n\n${USAGE}`);
  return 2;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
    },
  });
}

const consoleIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
