import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createJiti } from 'jiti';
import type * as KeyFile from '../../plugins/auth/key-file.ts';
import type { Scope } from '../../plugins/auth/scopes.ts';
import { FIRST_PARTY_FOLDER } from '../config/builtin-plugins.ts';
import type { CommandIo } from './config-commands.ts';

export const KEYS_USAGE = `Usage: plugboard keys <create|list|revoke> --file <keys file> …

  keys create --file f --id name --scopes chat,models [--models 'llama*,qwen2.5:7b']
              [--expires-at 2026-12-31T00:00:00Z] [--description text] [--pepper-env VAR]
                                   add a key; prints the key once on stdout (store it now:
                                   the file keeps only its hash). --pepper-env: hash with
                                   HMAC keyed by that variable (the auth plugin's pepper_env)
  keys list --file f [--json]      ids, scopes, models, created, expiry, status — no hashes
  keys revoke --file f --id name   disable a key (kept in the file, its id stays taken)

Scopes: chat, embeddings, models, documents, admin. The file is YAML, or JSON when it ends in .json.`;

/**
 * The keys file's logic lives with the auth plugin (plugins/auth/key-file.ts: the one import of
 * a plugin folder from src/). It is loaded through jiti rather than imported: the precompiled
 * build (scripts/build.mjs) covers src/ only, and a static import would point the built CLI at a
 * dist/plugins file that does not exist; jiti loads the plugin's TypeScript as it loads plugins.
 */
async function keyFileModule(): Promise<typeof KeyFile> {
  return createJiti(import.meta.url).import<typeof KeyFile>(join(FIRST_PARTY_FOLDER, 'auth', 'key-file.ts'));
}

/**
 * `plugboard keys create|list|revoke --file <path> …`: manages the auth plugin's keys file.
 * Returns the exit code: 0 done, 1 the file could not be read or written, 2 wrong usage.
 *
 * @example
 * ```ts
 * await keysCommand(['create', '--file', 'keys.yaml', '--id', 'ci-bot', '--scopes', 'chat'], io); // prints the key
 * ```
 */
export async function keysCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(KEYS_USAGE);
    return 0;
  }
  const [action, ...extra] = positionals;
  if (extra.length > 0) return usage(io, `Unexpected argument: ${extra.join(' ')}`);
  if (values.file === undefined) return usage(io, '--file is required');
  const file = values.file;
  const keyFile = await keyFileModule();
  try {
    if (action === 'create') {
      if (values.id === undefined || values.scopes === undefined) return usage(io, 'create needs --id and --scopes');
      let pepper: string | undefined;
      if (values['pepper-env'] !== undefined) {
        pepper = process.env[values['pepper-env']];
        if (!pepper) return usage(io, `--pepper-env: the environment variable ${values['pepper-env']} is not set`);
      }
      const { key, record } = await keyFile.createKey(file, {
        id: values.id,
        scopes: list(values.scopes) as Scope[],
        ...(values.models === undefined ? {} : { models: list(values.models) }),
        ...(values['expires-at'] === undefined ? {} : { expiresAt: values['expires-at'] }),
        ...(values.description === undefined ? {} : { description: values.description }),
        ...(pepper === undefined ? {} : { pepper }),
      });
      // The key alone on stdout, so `KEY=$(plugboard keys create …)` captures it; the rest on stderr.
      io.out(key);
      io.err(`Created key "${record.id}" (scopes ${record.scopes.join(', ')}) in ${file}.`);
      io.err('This is the only time the key is shown: the file keeps only its hash. Store it now.');
      return 0;
    }
    if (action === 'list') {
      const keys = await keyFile.listKeys(file);
      if (values.json) io.out(JSON.stringify({ keys }, null, 2));
      else for (const line of table(keys)) io.out(line);
      return 0;
    }
    if (action === 'revoke') {
      if (values.id === undefined) return usage(io, 'revoke needs --id');
      await keyFile.revokeKey(file, values.id);
      io.out(`Revoked key "${values.id}" in ${file}; a running server refuses it at its next check of the file.`);
      return 0;
    }
  } catch (error) {
    io.err(`plugboard keys ${action}: ${(error as Error).message}`);
    return 1;
  }
  return usage(io, action === undefined ? 'Give an action' : `Unknown action: ${action}`);
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      file: { type: 'string', short: 'f' },
      id: { type: 'string' },
      scopes: { type: 'string' },
      models: { type: 'string' },
      'expires-at': { type: 'string' },
      description: { type: 'string' },
      'pepper-env': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usage(io: CommandIo, problem: string): number {
  io.err(`${problem}\n\n${KEYS_USAGE}`);
  return 2;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function table(keys: readonly KeyFile.KeySummary[]): string[] {
  if (keys.length === 0) return ['(no keys)'];
  const rows = [
    ['ID', 'SCOPES', 'MODELS', 'CREATED', 'EXPIRES', 'STATUS'],
    ...keys.map((key) => [
      key.id,
      key.scopes.join(','),
      key.models?.join(',') ?? '*',
      key.createdAt ?? '-',
      key.expiresAt ?? '-',
      key.status,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}
